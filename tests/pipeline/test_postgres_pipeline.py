"""The same pipeline in production mode: Dagster instance and warehouse both on a real PostgreSQL."""


def test_whole_graph_on_postgresql_instance_and_warehouse(postgres_backbeat, postgres_server):
    bb = postgres_backbeat
    assert bb.settings.warehouse_kind == "postgres" and bb.settings.dbt_target == "postgres"
    report = bb.run_everything()
    assert report.success
    bb.assert_demo_outcome()
    before = bb.facts()
    assert bb.run_everything().success
    assert bb.facts() == before

    with postgres_server.connect("backbeat_dagster") as conn, conn.cursor() as cur:
        cur.execute("SELECT count(*) FROM runs WHERE status = 'SUCCESS'")
        assert cur.fetchone()[0] == 2 * len(report.runs)
    with postgres_server.connect("backbeat_warehouse") as conn, conn.cursor() as cur:
        cur.execute("SELECT count(*) FROM information_schema.tables WHERE table_schema = 'analytics'")
        assert cur.fetchone()[0] >= 20  # dbt built its staging views and marts there
