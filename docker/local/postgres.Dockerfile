# PostgreSQL 15 from Debian for the local stack where no registry serves postgres:16-alpine
# (compose.local.yaml selects it). It takes the official image's POSTGRES_USER,
# POSTGRES_PASSWORD and POSTGRES_DB on first start and keeps its data in
# /var/lib/postgresql/data, so compose.yaml's service works unchanged.
#   docker/build_images.sh postgres
ARG PYTHON_IMAGE=python:3.11-slim-bookworm
FROM ${PYTHON_IMAGE}
# No cluster from the package (the entrypoint makes one in the volume) and no service start.
RUN printf '#!/bin/sh\nexit 101\n' >/usr/sbin/policy-rc.d && chmod +x /usr/sbin/policy-rc.d \
 && mkdir -p /etc/postgresql-common \
 && echo 'create_main_cluster = false' >/etc/postgresql-common/createcluster.conf \
 && apt-get update && apt-get install -y --no-install-recommends postgresql-15 \
 && rm -rf /var/lib/apt/lists/* /var/cache/apt/*.bin \
 && install -d -o postgres -g postgres -m 0700 /var/lib/postgresql/data \
 && install -d -o postgres -g postgres /run/postgresql
ENV PATH=/usr/lib/postgresql/15/bin:$PATH PGDATA=/var/lib/postgresql/data
COPY docker/local/postgres-entrypoint.sh /usr/local/bin/postgres-entrypoint.sh
USER postgres
EXPOSE 5432
STOPSIGNAL SIGINT
HEALTHCHECK --interval=5s --timeout=3s --retries=20 CMD ["pg_isready", "-h", "127.0.0.1"]
ENTRYPOINT ["/usr/local/bin/postgres-entrypoint.sh"]
