# One image for every Python process of the platform; docker-compose.yml picks the command.
FROM python:3.11-slim-bookworm

ENV PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1 PIP_NO_CACHE_DIR=1 \
    DJANGO_SETTINGS_MODULE=pipeline_project.settings.production

WORKDIR /app
RUN apt-get update && apt-get install -y --no-install-recommends build-essential \
    && rm -rf /var/lib/apt/lists/*
COPY requirements.txt .
RUN pip install -r requirements.txt
COPY . .
RUN useradd --create-home pipeline && mkdir -p /data/lake /app/var && chown -R pipeline /data /app/var
USER pipeline
RUN DJANGO_SECRET_KEY=build-only FLOWER_BASIC_AUTH=build:only python manage.py collectstatic --noinput
EXPOSE 8000 5555
CMD ["python", "-m", "uvicorn", "pipeline_project.asgi:application", "--host", "0.0.0.0", "--port", "8000", "--http", "pipeline_project.uvicorn_protocol:BoundedHttpToolsProtocol"]
