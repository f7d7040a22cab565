# Tandem: slim Python, non-root, migrations then serve, health-checked on /healthz.
FROM python:3.11-slim

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    TANDEM_HOST=0.0.0.0 \
    TANDEM_PORT=3978 \
    TANDEM_DATABASE_URL=sqlite+aiosqlite:////data/tandem.db

RUN useradd --create-home --uid 10001 tandem && mkdir /data && chown tandem /data
WORKDIR /app
COPY pyproject.toml README.md ./
COPY bot ./bot
COPY adapters ./adapters
COPY flows ./flows
COPY storage ./storage
RUN pip install --no-compile .

USER tandem
VOLUME ["/data"]
EXPOSE 3978
HEALTHCHECK --interval=30s --timeout=5s --start-period=20s --retries=3 \
  CMD python -c "import os,urllib.request; urllib.request.urlopen(f'http://127.0.0.1:{os.environ[\"TANDEM_PORT\"]}/healthz', timeout=4)"
CMD ["sh", "-c", "tandem db upgrade && exec tandem serve"]
