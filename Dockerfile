# The pii-streamer processor image: `docker build -t pii-streamer .`
FROM python:3.11-slim

ENV PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1 PIP_NO_CACHE_DIR=1 \
    STREAMER_DATA_DIR=/var/lib/pii-streamer
WORKDIR /app
COPY pyproject.toml README.md ./
COPY streamer ./streamer
COPY topologies ./topologies
COPY schemas ./schemas
RUN pip install ".[nlp,cloud,samples]" \
    && useradd --system --uid 10001 --home /var/lib/pii-streamer streamer \
    && mkdir -p /var/lib/pii-streamer && chown streamer /var/lib/pii-streamer
USER streamer
EXPOSE 9400
ENTRYPOINT ["streamer"]
CMD ["run", "--help"]
