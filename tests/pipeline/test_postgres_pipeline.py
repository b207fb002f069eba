"""The same pipeline in production mode: Dagster instance and warehouse both on a real PostgreSQL."""


def test_whole_graph_on_postgresql_instance_and_warehouse(postgres_backbeat, postgres_server):
    bb = postgres_backbeat
    assert bb.settings.warehouse_kind == "postgres" and bb.settings.dbt_target == "postgres"
    report = bb.run_everything()
    assert report.success
    bb.assert_demo_outcome()
    before = bb.facts()
    again = bb.run_everything()
    assert again.success
    assert bb.facts() == before
    # The sensors saw those chunks and inbox files already: the re-run matches no station-day again.
    assert "station_day_job" not in {job for job, _, _ in again.runs}

    with postgres_server.connect("backbeat_dagster") as conn, conn.cursor() as cur:
        cur.execute("SELECT count(*) FROM runs WHERE status = 'SUCCESS'")
        assert cur.fetchone()[0] == len(report.runs) + len(again.runs)
    with postgres_server.connect("backbeat_warehouse") as conn, conn.cursor() as cur:
        cur.execute("SELECT count(*) FROM information_schema.tables WHERE table_schema = 'analytics'")
        assert cur.fetchone()[0] >= 20  # dbt built its staging views and marts there
