-- Run once by the postgres image on an empty volume (deploy/docker-compose.yml): one server, three databases.
-- dagster: runs, event logs, schedules. backbeat: the warehouse (8 schemas, created by the assets).
-- celery: the broker (kombu's SQLAlchemy transport) and the step results of the celery executor.
CREATE DATABASE dagster OWNER backbeat;
CREATE DATABASE celery OWNER backbeat;
