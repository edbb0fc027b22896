"""The ``harvester`` command line.

Exit codes (stable; scripts may rely on them):

    0  success                       4  network or HTTP failure
    1  internal error (a bug)        5  refused (robots.txt, size cap, private address)
    2  usage or configuration error  6  archive error (disk, catalog, archive in use)
    3  fetched, but not an article   7  export: --story names no story
    8  export: nothing selected      9  export: the output exists or cannot be written
    130 interrupted (Ctrl-C)

Every failure is one line on stderr starting with ``harvester:``; a traceback is printed only
with ``--debug`` (or HARVESTER_DEBUG=1).
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import signal
import sys
import threading
import traceback
from collections.abc import Sequence
from datetime import UTC, datetime
from pathlib import Path
from urllib.parse import urlsplit

from harvester.archive import Archive, parse_cursor
from harvester.catalog import CATALOG_NAME, SqlCatalog, catalog_exists, is_postgres, open_catalog
from harvester.config import Settings, check_catalog_url, load_settings
from harvester.dedup.view import story_view
from harvester.errors import ArchiveError, ConfigError, HarvesterError
from harvester.export import EXPORT_FIELDS
from harvester.export import FORMATS as EXPORT_FORMATS
from harvester.export import export as export_records
from harvester.extract.templates import TemplateModel
from harvester.models import (
    Archived,
    ExportRecord,
    FetchFailed,
    FetchRequest,
    HttpError,
    NotArticle,
    Outcome,
    Refused,
)
from harvester.pipeline import Harvester, wire_test
from harvester.status import status_page
from harvester.version import __version__

__all__ = ["EXIT_CODES", "main"]

EXIT_OK = 0
EXIT_INTERNAL = 1
EXIT_USAGE = 2
EXIT_NOT_ARTICLE = 3
EXIT_FETCH_FAILED = 4
EXIT_REFUSED = 5
EXIT_ARCHIVE = 6
EXIT_NO_STORY = 7
EXIT_EMPTY_SELECTION = 8
EXIT_OUTPUT = 9
EXIT_INTERRUPTED = 130
EXIT_CODES = {
    "ok": EXIT_OK,
    "internal": EXIT_INTERNAL,
    "usage": EXIT_USAGE,
    "not-an-article": EXIT_NOT_ARTICLE,
    "fetch-failed": EXIT_FETCH_FAILED,
    "refused": EXIT_REFUSED,
    "archive": EXIT_ARCHIVE,
    "no-such-story": EXIT_NO_STORY,
    "empty-selection": EXIT_EMPTY_SELECTION,
    "output-exists": EXIT_OUTPUT,
    "interrupted": EXIT_INTERRUPTED,
}
CONFIG_ENV = "HARVESTER_CONFIG"

log = logging.getLogger("harvester")


class _JsonFormatter(logging.Formatter):
    """One JSON object per log line: time (UTC ISO), level, logger, message."""

    def format(self, record: logging.LogRecord) -> str:
        out = {
            "time": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
        }
        if record.exc_info:
            out["exception"] = self.formatException(record.exc_info)
        return json.dumps(out, ensure_ascii=False)


class _UsageError(HarvesterError):
    exit_code = EXIT_USAGE


class _Parser(argparse.ArgumentParser):
    """argparse, but usage errors are one line and exit 2 (no usage dump)."""

    def error(self, message: str) -> None:  # type: ignore[override]
        raise _UsageError(f"{message} (see: {self.prog} --help)")


def _add_config(p: argparse.ArgumentParser, *, archive: bool = True) -> None:
    p.add_argument(
        "--config",
        type=Path,
        metavar="FILE",
        help=f"config file (default: ${CONFIG_ENV}, else built-in defaults)",
    )
    if archive:
        p.add_argument(
            "--archive", type=Path, metavar="DIR", help="archive root (wins over [archive] dir)"
        )
        p.add_argument(
            "--catalog",
            metavar="URL",
            help="the catalog: postgresql://user@host:port/db (a fleet), or an SQLite file "
            "(wins over [archive] catalog; default: <archive>/index.sqlite)",
        )


def _add_archive_commands(sub: argparse._SubParsersAction[_Parser]) -> None:
    """The subcommands over an archive as a product: export, import, index, rebuild."""
    p = sub.add_parser("export", help="print one record per archived article")
    _add_config(p)
    p.add_argument(
        "--format",
        choices=[*EXPORT_FORMATS, "wacz"],
        default="jsonl",
        help="jsonl, csv, parquet: one record per article; wacz: an evidence package (a ZIP "
        "with the WARC records, index and pages, for ReplayWeb.page and pywb; needs --output)",
    )
    p.add_argument(
        "--story",
        metavar="ID|URL",
        help="wacz only: one story's evidence (its original, every copy, their captures, "
        "metadata and diffs); a story id or an archived article's URL",
    )
    p.add_argument(
        "--unique",
        action="store_true",
        help="one record per story (its original, or the best member) with its copies",
    )
    p.add_argument(
        "--since",
        metavar="CURSOR",
        help="only articles changed after this cursor (printed on stderr by the last export)",
    )
    p.add_argument("--outlet", metavar="NAME", help="only this outlet's articles")
    p.add_argument(
        "--fields", metavar="A,B,...", help=f"fields to write (known: {', '.join(EXPORT_FIELDS)})"
    )
    p.add_argument(
        "--output", type=Path, metavar="FILE", help="write to FILE instead of standard output"
    )

    p = sub.add_parser(
        "import-warc",
        help="run existing WARC/ARC files through extraction, cleaning and provenance",
    )
    p.add_argument("files", nargs="+", type=Path, metavar="FILE")
    _add_config(p)
    p.add_argument("--verbose", action="store_true", help="also list per-record warnings")

    p = sub.add_parser(
        "cdxj", help="a CDXJ index of the archive's captures (for pywb and other replay tools)"
    )
    _add_config(p)
    p.add_argument(
        "--output", type=Path, metavar="FILE", help="write to FILE instead of standard output"
    )
    p.add_argument(
        "--records",
        default="response,revisit,resource,metadata,conversion",
        metavar="TYPES",
        help="record types to index, comma-separated, or 'all' "
        "(default: response,revisit,resource,metadata,conversion)",
    )

    p = sub.add_parser(
        "rebuild-index", help="rebuild the catalog from the WARC files (the old one is kept)"
    )
    _add_config(p)


def build_parser() -> argparse.ArgumentParser:
    """The argument parser for every subcommand."""
    parser = _Parser(
        prog="harvester",
        description="Scrape and archive syndicated wire stories to WARC, with provenance.",
        epilog="Exit codes: 0 ok, 2 usage/config, 3 not an article, 4 network/HTTP failure, "
        "5 refused, 6 archive error, 7 no such story, 8 empty selection, 9 output exists or "
        "cannot be written, 130 interrupted.",
    )
    parser.add_argument("--version", action="version", version=f"harvester {__version__}")
    parser.add_argument("--debug", action="store_true", help="show tracebacks on errors")
    parser.add_argument(
        "--log-level", default="INFO", choices=["DEBUG", "INFO", "WARNING", "ERROR"]
    )
    parser.add_argument(
        "--log-format",
        default="text",
        choices=["text", "json"],
        help="log lines as text, or as one JSON object each (for log collectors)",
    )
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", parser_class=_Parser)
    sub.required = True

    p = sub.add_parser("fetch", help="fetch one URL, archive it, print its export record")
    p.add_argument("url", help="absolute http(s) URL")
    _add_config(p)
    p.add_argument("--format", choices=["json", "text"], default="json")
    p.add_argument("--outlet", help="attribute the page to this outlet name")

    p = sub.add_parser("story", help="print a story: its original and every copy")
    p.add_argument("story", metavar="URL|ID", help="an archived article's URL, or a story id")
    _add_config(p)
    p.add_argument("--format", choices=["text", "json"], default="text")

    p = sub.add_parser(
        "status", help="per outlet: articles, last and next poll, errors; the writers and leases"
    )
    _add_config(p)
    p.add_argument("--format", choices=["text", "json"], default="text")

    p = sub.add_parser("templates", help="list an outlet's learned template blocks")
    p.add_argument("outlet", help="outlet name (as in the config, or the host)")
    _add_config(p)

    p = sub.add_parser(
        "reclean", help="re-derive cleaned text of archived articles with the current rules"
    )
    _add_config(p)
    p.add_argument("--outlet", help="only this outlet's articles")

    _add_archive_commands(sub)

    p = sub.add_parser("check-config", help="validate a config file and summarise it")
    _add_config(p, archive=False)

    p = sub.add_parser("run", help="the daemon: poll every configured outlet on its schedule")
    _add_config(p)
    p.add_argument("--once", action="store_true", help="poll every outlet once, then exit")
    p.add_argument(
        "--processes",
        type=int,
        metavar="N",
        help="worker processes that fetch, archive and extract in parallel "
        "(default: [fetch] processes, the number of cores)",
    )
    # The start of the fleet's round, passed by `run --processes N --once` to its processes.
    p.add_argument("--round-start", type=float, help=argparse.SUPPRESS)

    p = sub.add_parser(
        "demo",
        help="harvest a bundled local newsroom (offline) and show its stories, originals, copies",
    )
    p.add_argument(
        "--archive",
        type=Path,
        metavar="DIR",
        help="archive root (new or empty; default: a temp dir)",
    )
    p.add_argument("--verbose", action="store_true", help="show the daemon's log lines too")

    p = sub.add_parser("serve", help="the story desk: a read-only web page over the archive")
    _add_config(p)
    p.add_argument("--host", help="address to bind (default: [serve] host, else 127.0.0.1)")
    p.add_argument("--port", type=int, help="port (default: [serve] port, else 8080; 0: any free)")
    p.add_argument(
        "--token",
        help="access token, needed for any address beyond this machine "
        "(default: $HARVESTER_SERVE_TOKEN, else [serve] token)",
    )
    return parser


def _settings(args: argparse.Namespace) -> Settings:
    path = args.config or (Path(os.environ[CONFIG_ENV]) if os.environ.get(CONFIG_ENV) else None)
    settings = load_settings(path)
    if getattr(args, "archive", None) is not None:
        settings = settings.with_archive_dir(args.archive)
    if getattr(args, "catalog", None) is not None:
        try:
            catalog = check_catalog_url(args.catalog.strip())
        except ConfigError as exc:
            raise _UsageError(f"--catalog: {exc}") from None
        settings = settings.with_catalog(catalog)
    return settings


def _print_record(record: ExportRecord, fmt: str) -> None:
    if fmt == "json":
        print(json.dumps(record.to_json(), ensure_ascii=False, indent=2))
        return
    print(record.title or "(untitled)")
    print(f"url:       {record.final_url}")
    print(f"outlet:    {record.outlet}")
    if record.authors:
        print(f"authors:   {', '.join(record.authors)}")
    print(f"published: {record.published or '-'}   language: {record.language or '-'}")
    print(f"fetched:   {record.fetched}")
    original = record.original
    print(f"original:  {original.outlet} {original.url or ''} (seen: {original.seen})")
    print(f"warc:      {record.warc.file} @ {record.warc.offset}")
    print()
    print(record.text)


def _report(outcome: Outcome, fmt: str) -> int:
    """Print the outcome of one fetch; return the exit code."""
    if isinstance(outcome, Archived):
        _print_record(outcome.record, fmt)
        if outcome.revisit:
            log.info("unchanged since %s (revisit record written)", outcome.record.fetched)
        return EXIT_OK
    if isinstance(outcome, NotArticle):
        where = f" (archived in {outcome.warc.file})" if outcome.warc else ""
        _fail(f"not an article: {outcome.reason}: {outcome.url}{where}")
        return EXIT_NOT_ARTICLE
    if isinstance(outcome, HttpError):
        _fail(f"HTTP {outcome.status} {outcome.reason}: {outcome.url}".replace("  ", " "))
        return EXIT_FETCH_FAILED
    if isinstance(outcome, Refused):
        _fail(outcome.reason)
        return EXIT_REFUSED
    assert isinstance(outcome, FetchFailed)
    _fail(outcome.reason)
    return EXIT_FETCH_FAILED


def _fail(message: str) -> None:
    print(f"harvester: {message}", file=sys.stderr)


def cmd_fetch(args: argparse.Namespace) -> int:
    """``harvester fetch URL``."""
    url = args.url.strip()
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise _UsageError(f"not an absolute http(s) URL: {url!r}")
    settings = _settings(args)
    with Harvester(settings) as harvester:
        outcome = harvester.harvest(FetchRequest(url=url, outlet=args.outlet))
    return _report(outcome, args.format)


def _read_catalog(settings: Settings) -> SqlCatalog:
    """The archive's catalog, read-only; ArchiveError when there is no archive there."""
    target = settings.archive.catalog
    if not catalog_exists(target, settings.archive.dir):
        raise ArchiveError(f"no archive at {settings.archive.dir} (no {CATALOG_NAME})")
    return open_catalog(target, settings.archive.dir, readonly=True)


def cmd_export(args: argparse.Namespace) -> int:
    """``harvester export``: the archive's records as JSON lines, CSV or Parquet (streamed), or
    a WACZ package."""
    settings = _settings(args)
    try:
        since = parse_cursor(args.since)
    except ValueError as exc:
        raise _UsageError(str(exc)) from None
    if args.format == "wacz":
        return _export_wacz(args, settings, since)
    if args.story is not None:
        raise _UsageError("--story selects a WACZ package's story: use it with --format wacz")
    with Archive(settings.archive.dir, catalog=settings.archive.catalog) as archive:
        if args.output is None:
            result = export_records(
                archive,
                sys.stdout.buffer,
                fmt=args.format,
                since=since,
                unique=args.unique,
                outlet=args.outlet,
                fields=args.fields,
            )
            sys.stdout.flush()
        else:
            partial = args.output.with_name(args.output.name + ".partial")
            try:
                with partial.open("wb") as out:
                    result = export_records(
                        archive,
                        out,
                        fmt=args.format,
                        since=since,
                        unique=args.unique,
                        outlet=args.outlet,
                        fields=args.fields,
                    )
                partial.replace(args.output)
            except OSError as exc:
                raise ArchiveError(f"cannot write {args.output}: {exc}") from exc
            finally:
                partial.unlink(missing_ok=True)
    print(
        f"harvester: exported {result.records} records; next time: --since {result.cursor}",
        file=sys.stderr,
    )
    return EXIT_OK


def _export_wacz(args: argparse.Namespace, settings: Settings, since: int) -> int:
    """``export --format wacz --output FILE``: one WACZ package of the selection."""
    from harvester.storage import new_record_id  # noqa: PLC0415
    from harvester.warc.wacz import WaczSelection, write_wacz  # noqa: PLC0415

    if args.output is None:
        raise _UsageError("--format wacz writes a file: give --output FILE (e.g. story.wacz)")
    if args.unique or args.fields:
        raise _UsageError("--unique and --fields shape record exports, not a WACZ package")
    selection = WaczSelection(story=args.story, outlet=args.outlet, since=since)
    with _read_catalog(settings) as catalog:
        report = write_wacz(
            settings.archive.dir,
            catalog,
            args.output,
            selection=selection,
            new_id=new_record_id,
            progress=lambda line: log.info("wacz: %s", line),
        )
    print(
        f"harvester: wrote {report.path} ({report.bytes} bytes): {report.pages} pages, "
        f"{report.records} WARC records in {report.warc_files} file(s); open it in "
        "ReplayWeb.page (https://replayweb.page, works offline once loaded) or check it with "
        f"`wacz validate -f {report.path}`",
        file=sys.stderr,
    )
    return EXIT_OK


def cmd_story(args: argparse.Namespace) -> int:
    """``harvester story URL|ID``: the original, every copy, and what each changed."""
    with _read_catalog(_settings(args)) as catalog:
        story = args.story.strip()
        if not story.startswith("s-"):
            record = catalog.article(story)
            if record is None:
                raise _UsageError(f"no archived article at {story!r} (nor a story id)")
            story = record.story
        view = story_view(catalog, story)
    if view is None:
        raise _UsageError(f"no story {story!r} in the archive")
    if args.format == "json":
        print(json.dumps(view.to_json(), ensure_ascii=False, indent=2))
    else:
        print(view.to_text())
    return EXIT_OK


def cmd_status(args: argparse.Namespace) -> int:
    """``harvester status``: what the daemon knows about every configured (or polled) outlet."""
    settings = _settings(args)
    with _read_catalog(settings) as catalog:
        report = status_page(catalog, settings)
    rows, totals, frontier = report.outlets, report.totals, report.frontier
    if args.format == "json":
        print(
            json.dumps(
                report.to_json(),
                ensure_ascii=False,
                indent=2,
            )
        )
        return EXIT_OK
    print(f"archive {settings.archive.dir}: {totals['articles']} article records, "
          f"{totals['captures']} captures; frontier: {frontier['pending']} pending, "
          f"{frontier['failed']} given up for now")  # fmt: skip
    for row in rows:
        polled = row["last_poll"] or "never polled"
        print(
            f"{row['outlet']}: {row['articles']} articles; last poll {polled}; "
            f"next {row['next_poll'] or '-'}"
            + (f" (interval {row['poll_interval']:.0f}s)" if row["poll_interval"] else "")
            + f"; failures {row['failures']}"
        )
        if row["last_error"]:
            print(f"    last error: {row['last_error']}")
    for w in report.writers:
        where = f"pid {w['pid']} on {w['host']}, started {w['started']}" if w["host"] else "-"
        held = w["leases"]
        print(
            f"writer {w['writer']} ({w['state']}; {where}): leases {held['urls']} URLs, "
            f"{held['polls']} polls, {held['host_slots']} host slots"
        )
    return EXIT_OK


def cmd_templates(args: argparse.Namespace) -> int:
    """``harvester templates OUTLET``: the learned blocks, most widespread first."""
    settings = _settings(args)
    with _read_catalog(settings) as catalog:
        stored = catalog.template_model(args.outlet)
    if stored is None:
        raise _UsageError(f"no template model for outlet {args.outlet!r} in {settings.archive.dir}")
    model = TemplateModel.from_json(stored)
    learned = model.learned()
    print(
        f"{args.outlet}: {len(learned)} learned block(s) from {model.article_count} articles "
        f"(a block is learned once it recurs in "
        f"{settings.extract.template_min_articles} distinct stories)"
    )
    for block in learned:
        print(f"{block.articles:6d}  {block.key}  {block.sample}")
    return EXIT_OK


def cmd_reclean(args: argparse.Namespace) -> int:
    """``harvester reclean``: append re-cleaned records where the current rules differ."""
    settings = _settings(args)
    with Harvester(settings) as harvester:
        report = harvester.reclean(args.outlet)
    print(
        f"reclean: {report.checked} articles checked, {report.changed} re-cleaned "
        f"(new metadata + conversion records appended), {report.failed} failed"
    )
    return EXIT_OK


def cmd_check_config(args: argparse.Namespace) -> int:
    """``harvester check-config``."""
    settings = _settings(args)
    source = settings.source or "built-in defaults"
    wires = sum(1 for o in settings.outlets if o.wire)
    print(
        f"{source}: OK: {len(settings.outlets)} outlets ({wires} wire services), "
        f"archive {settings.archive.dir}"
    )
    return EXIT_OK


def cmd_import_warc(args: argparse.Namespace) -> int:
    """``harvester import-warc FILE...``: exit 0 when every record imported (or was skipped by
    type or as already imported), 1 when a record or a file was skipped as broken."""
    from harvester.importer import import_warcs  # noqa: PLC0415

    log = logging.getLogger("harvester.importer")
    with Harvester(_settings(args)) as harvester:
        report = import_warcs(harvester, args.files, progress=lambda m: log.info("%s", m))
    for line in report.lines(warnings=args.verbose):
        print(f"harvester: {line}", file=sys.stderr)
    return report.exit_code


def cmd_cdxj(args: argparse.Namespace) -> int:
    """``harvester cdxj``: the sorted CDXJ index of every closed WARC file of the archive."""
    from harvester.warc.cdxj import write_cdxj  # noqa: PLC0415

    settings = _settings(args)
    root = settings.archive.dir
    if not (root / "warc").is_dir():
        raise ArchiveError(f"no WARC files under {root}/warc: nothing to index")
    kinds = [k.strip() for k in args.records.split(",") if k.strip()]
    records = None if kinds == ["all"] else frozenset(kinds)
    if args.output is None:
        lines = write_cdxj(root, sys.stdout, records=records)
    else:
        partial = args.output.with_name(args.output.name + ".partial")
        try:
            with partial.open("w", encoding="utf-8") as out:
                lines = write_cdxj(root, out, records=records)
            partial.replace(args.output)
        except OSError as exc:
            raise ArchiveError(f"cannot write {args.output}: {exc}") from exc
        finally:
            partial.unlink(missing_ok=True)
    print(f"harvester: {lines} CDXJ lines", file=sys.stderr)
    return EXIT_OK


def cmd_rebuild_index(args: argparse.Namespace) -> int:
    """``harvester rebuild-index``: the catalog again, from the WARC files alone."""
    from harvester.extract.wires import WireRegistry  # noqa: PLC0415
    from harvester.rebuild import rebuild_catalog  # noqa: PLC0415

    settings = _settings(args)
    if not (settings.archive.dir / "warc").is_dir():
        raise ArchiveError(f"no WARC files under {settings.archive.dir}/warc: nothing to rebuild")
    report = rebuild_catalog(
        settings.archive.dir,
        is_wire=wire_test(settings, WireRegistry.load(settings.extract.wires)),
        progress=lambda line: print(line, file=sys.stderr),
        catalog=settings.archive.catalog,
    )
    kept = f"; the old catalog is kept as {report.old_catalog.name}" if report.old_catalog else ""
    if report.old_schema:
        kept = f"; the old tables are kept in the catalog's schema {report.old_schema}"
    name: object = settings.archive.dir / CATALOG_NAME
    if is_postgres(settings.archive.catalog):
        from harvester.catalog.postgres import redact_url  # noqa: PLC0415

        name = redact_url(str(settings.archive.catalog))
    print(
        f"rebuilt {name}: {report.files} WARC files, "
        f"{report.captures} captures, {report.articles} article records{kept}"
    )
    for source in report.missing_sources:
        print(f"warning: imported source file missing: {source}", file=sys.stderr)
    return EXIT_OK


def cmd_demo(args: argparse.Namespace) -> int:
    """``harvester demo``: the bundled newsroom, harvested once, summarised on stdout."""
    from harvester.demo import run_demo  # noqa: PLC0415 (keeps the demo data off other commands)

    if not args.verbose:
        logging.getLogger("harvester").setLevel(logging.WARNING)
    return run_demo(archive=args.archive, out=sys.stdout)


def cmd_serve(args: argparse.Namespace) -> int:
    """``harvester serve``: the story desk (see harvester.web)."""
    from harvester.web import TOKEN_ENV, serve  # noqa: PLC0415 (the web stack only here)

    settings = _settings(args)
    desk = settings.serve
    token = args.token or os.environ.get(TOKEN_ENV) or desk.token
    return serve(
        settings,
        host=desk.host if args.host is None else args.host,
        port=desk.port if args.port is None else args.port,
        token=token,
        out=sys.stdout,
    )


def cmd_run(args: argparse.Namespace) -> int:
    """``harvester run``: the daemon (see harvester.daemon)."""
    # A SIGTERM while the daemon starts up is a stop request like any other (exit 0).
    early_stop = threading.Event()
    for sig in (signal.SIGTERM, signal.SIGINT):
        signal.signal(sig, lambda signum, frame: early_stop.set())
    from harvester.daemon import run_daemon  # noqa: PLC0415 (keeps APScheduler off `fetch`)

    settings = _settings(args)
    if not settings.outlets:
        raise ConfigError(f"{settings.source or 'built-in defaults'}: no [[outlets]] to poll")
    processes = args.processes if args.processes is not None else settings.fetch.processes
    if not 1 <= processes <= 64:
        raise _UsageError(f"--processes must be between 1 and 64, got {processes}")
    if processes > 1:
        from harvester.supervisor import run_processes  # noqa: PLC0415

        return run_processes(
            _child_argv(args), processes, once=args.once, stop_requested=early_stop
        )
    return run_daemon(
        settings, once=args.once, round_start=args.round_start, stop_requested=early_stop
    )


def _child_argv(args: argparse.Namespace) -> list[str]:
    """The command line of one worker process of ``run --processes N`` (without
    ``--round-start``, which the supervisor adds)."""
    argv = ["--log-level", args.log_level, "--log-format", args.log_format]
    if args.debug:
        argv.append("--debug")
    argv += ["run", "--processes", "1"]
    for flag, value in (("--config", args.config), ("--archive", args.archive)):
        if value is not None:
            argv += [flag, str(Path(value).resolve())]
    if args.catalog is not None:
        argv += ["--catalog", args.catalog]
    if args.once:
        argv.append("--once")
    return argv


_COMMANDS = {
    "fetch": cmd_fetch,
    "export": cmd_export,
    "check-config": cmd_check_config,
    "templates": cmd_templates,
    "status": cmd_status,
    "story": cmd_story,
    "reclean": cmd_reclean,
    "rebuild-index": cmd_rebuild_index,
    "cdxj": cmd_cdxj,
    "import-warc": cmd_import_warc,
    "run": cmd_run,
    "demo": cmd_demo,
    "serve": cmd_serve,
}


class _StderrHandler(logging.StreamHandler):  # type: ignore[type-arg]
    """Writes to whatever ``sys.stderr`` is when a record is emitted (an embedding program or
    a test harness may swap it after ``main`` has returned)."""

    def emit(self, record: logging.LogRecord) -> None:
        self.stream = sys.stderr
        super().emit(record)


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point; returns the process exit code."""
    debug = os.environ.get("HARVESTER_DEBUG") == "1"
    try:
        args = build_parser().parse_args(argv)
        debug = debug or args.debug
        handler = _StderrHandler()
        handler.setFormatter(
            _JsonFormatter()
            if args.log_format == "json"
            else logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s")
        )
        logging.basicConfig(level=args.log_level, handlers=[handler], force=True)
        # httpx logs every request at INFO; our own log lines say what matters.
        logging.getLogger("httpx").setLevel(logging.WARNING)
        # APScheduler logs every job run at INFO; the daemon logs each poll's result itself.
        logging.getLogger("apscheduler").setLevel(logging.WARNING)
        return _COMMANDS[args.command](args)
    except HarvesterError as exc:
        if debug:
            traceback.print_exc()
        _fail(str(exc))
        return exc.exit_code
    except KeyboardInterrupt:
        _fail("interrupted")
        return EXIT_INTERRUPTED
    except BrokenPipeError:
        # `harvester export | head`: the reader left; that is not an error of ours.
        sys.stderr.close()
        return EXIT_OK
    except Exception as exc:  # noqa: BLE001 (the last line of defence: never a traceback)
        if debug:
            traceback.print_exc()
        _fail(f"internal error: {type(exc).__name__}: {exc} (rerun with --debug for details)")
        return EXIT_INTERNAL


if __name__ == "__main__":
    sys.exit(main())
