FROM python:3.11-slim
WORKDIR /app
COPY pyproject.toml README.md ./
COPY helpdesk helpdesk
COPY gateway gateway
COPY storage storage
COPY workers workers
COPY templates templates
RUN pip install --no-cache-dir . && useradd --create-home helpdesk
USER helpdesk
ENV HELPDESK_VAR_DIR=/home/helpdesk/var
EXPOSE 2525
CMD ["helpdesk", "serve", "--smtp", "0.0.0.0:2525"]
