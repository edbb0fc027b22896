# harvester daemon image: the package on a slim Python, run as a non-root user,
# the archive on a volume. Build: docker build -t harvester .
# Run:   docker run -v harvester-archive:/archive harvester
FROM python:3.11-slim-bookworm AS build

WORKDIR /src
COPY pyproject.toml README.md ./
COPY harvester ./harvester
RUN pip install --no-cache-dir --prefix=/install .

FROM python:3.11-slim-bookworm

LABEL org.opencontainers.image.title="harvester" \
      org.opencontainers.image.description="Scraper and archiver for syndicated wire stories"

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    HARVESTER_CONFIG=/etc/harvester/harvester.toml

COPY --from=build /install /usr/local
COPY config/ /etc/harvester/

RUN groupadd --system --gid 10001 harvester \
    && useradd --system --uid 10001 --gid harvester --home-dir /archive \
       --shell /usr/sbin/nologin harvester \
    && mkdir -p /archive \
    && chown 10001:10001 /archive

USER 10001:10001
WORKDIR /archive
VOLUME ["/archive"]

ENTRYPOINT ["harvester"]
CMD ["run", "--archive", "/archive"]
