"""Sandboxed Jinja2 templates: strict variables, the sandbox, the checks every message must pass, preview, and
reading the rows written for the old `string.Template` renderer."""

from string import Template

import pytest

from backbeat.outreach.compose import (
    DEFAULT_MAX_BODY_CHARS,
    ENGINE_FOOTER,
    CheckFailed,
    MemoryTemplates,
    MissingVariable,
    TemplateSyntaxProblem,
    TemplateVersion,
    UnsafeTemplate,
    WarehouseTemplates,
    check_message,
    check_template,
    compose,
    engine_context,
    from_string_template,
    preview,
    render,
    template_from_row,
)
from backbeat.outreach.tables import TEMPLATES
from integrations.warehouse import Warehouse


def legacy_render(subject: str, body: str, values: dict) -> tuple[str, str]:
    """The `string.Template` renderer the engine used before compose.py: the reference the conversion must match."""

    class _Blank(dict):
        def __missing__(self, key: str) -> str:
            return ""

    mapping = _Blank({k: "" if v is None else str(v) for k, v in values.items()})
    return Template(subject).substitute(mapping).strip(), Template(body).substitute(mapping)


URL = "https://u.label.example/u/tok_AB-1.sig"
CONTEXT = {
    "name": "Ann Dee",
    "first_name": "Ann",
    "company": "Radio Été",
    "track": "Blue Hour",
    "campaign": "Blue Hour launch",
    "sender_name": "Bo at Label",
    "unsubscribe_url": URL,
}
INTRO = TemplateVersion(
    template_id="intro",
    version=3,
    subject="{{ track }} for {{ company }}",
    body=(
        "Hi {{ first_name }},\n\n"
        "{{ track }} is out Friday{% if company is defined %}; I think it fits {{ company }}{% endif %}.\n\n"
        "{{ sender_name }}\n\n"
        "Unsubscribe: {{ unsubscribe_url }}\n"
    ),
    forbidden_phrases=("top 40",),
)


def checks(failures) -> set[tuple[str, str]]:
    return {(f.check, f.part) for f in failures}


def test_compose_renders_subject_and_body_as_plain_text() -> None:
    context = {**CONTEXT, "company": "Rock & <Roll> FM"}
    message = compose(INTRO, context)
    assert message.subject == "Blue Hour for Rock & <Roll> FM"  # no HTML escaping in text/plain
    assert message.body == (
        f"Hi Ann,\n\nBlue Hour is out Friday; I think it fits Rock & <Roll> FM.\n\nBo at Label\n\nUnsubscribe: {URL}\n"
    )
    assert (message.template_id, message.version) == ("intro", 3)


def test_missing_variable_is_an_error_naming_template_version_and_variable() -> None:
    context = {k: v for k, v in CONTEXT.items() if k != "first_name"}
    with pytest.raises(MissingVariable) as caught:
        render(INTRO, context)
    assert (caught.value.template_id, caught.value.version, caught.value.variable) == ("intro", 3, "first_name")
    assert caught.value.part == "body"
    assert "template intro v3" in str(caught.value) and "'first_name'" in str(caught.value)
    # None is missing too, never a blank
    with pytest.raises(MissingVariable, match="subject uses variable 'track'"):
        render(INTRO, {**CONTEXT, "track": None})


def test_missing_variable_used_as_a_function_or_operand_is_named() -> None:
    for source in ("{{ greeting() }}", "{{ greeting + '!' }}", "{% for x in greeting %}{{ x }}{% endfor %}"):
        template = TemplateVersion("ops", 1, "hi", source + " {{ unsubscribe_url }}")
        with pytest.raises(MissingVariable) as caught:
            render(template, {"unsubscribe_url": URL})
        assert caught.value.variable == "greeting", source


def test_engine_context_turns_blanks_into_missing_values() -> None:
    context = engine_context(
        name="Ann Dee", company=" ", track="Blue Hour", campaign="Launch", sender_name="Bo", unsubscribe_url=URL
    )
    assert context["first_name"] == "Ann" and context["company"] is None
    with pytest.raises(MissingVariable, match="'company'"):
        compose(INTRO, context)
    nameless = engine_context(name="", company="KEXP", track="t", campaign="c", sender_name="Bo", unsubscribe_url=URL)
    assert nameless["first_name"] is None


def test_missing_attribute_and_optional_default() -> None:
    template = TemplateVersion(
        "t", 1, "{{ station.name }}", "{{ company | default('your station') }} {{ unsubscribe_url }}"
    )
    with pytest.raises(MissingVariable) as caught:
        render(template, {"station": {}, "unsubscribe_url": URL})
    assert caught.value.variable == "name"
    message = render(template, {"station": {"name": "KEXP"}, "company": None, "unsubscribe_url": URL})
    assert (message.subject, message.body) == ("KEXP", f"your station {URL}")


@pytest.mark.parametrize(
    "source",
    [
        "{{ ''.__class__ }}",
        "{{ ''.__class__.__mro__[1].__subclasses__() }}",
        "{{ track.__init__.__globals__ }}",
        "{{ names.append('x') }}",
        "{{ cycler.__init__.__globals__.os }}",
        "{{ 'x' * 10**9 }}",
        "{{ 2 ** 100000 }}",
    ],
)
def test_sandbox_blocks_internal_attributes_and_mutation(source: str) -> None:
    template = TemplateVersion("evil", 1, "hello", source + " {{ unsubscribe_url }}")
    names: list[str] = []
    with pytest.raises((UnsafeTemplate, MissingVariable)) as caught:
        render(template, {"track": "Blue", "names": names, "unsubscribe_url": URL})
    assert caught.value.template_id == "evil"
    assert names == []
    if "cycler" not in source:
        assert isinstance(caught.value, UnsafeTemplate)


def test_forbidden_claim_fails_whatever_the_spelling() -> None:
    template = TemplateVersion(
        "claims",
        1,
        "{{ track }}",
        "We offer Guaranteed-AIRPLAY and a Top   40 spot!\n{{ unsubscribe_url }}",
        forbidden_phrases=("top 40",),
    )
    with pytest.raises(CheckFailed) as caught:
        compose(template, CONTEXT)
    details = " ".join(f.detail for f in caught.value.failures)
    assert checks(caught.value.failures) == {("forbidden_claim", "body")}
    assert "'guaranteed airplay'" in details and "'top 40'" in details
    assert check_template(template) and ("forbidden_claim", "body") in checks(check_template(template))
    # the same words apart are not the claim
    fine = TemplateVersion("ok", 1, "hi", "Airplay is never guaranteed.\n{{ unsubscribe_url }}")
    assert compose(fine, CONTEXT).body.startswith("Airplay is never guaranteed.")


def test_footer_missing_fails_for_template_and_rendered_message() -> None:
    template = TemplateVersion("nofoot", 1, "{{ track }}", "Hi {{ first_name }}, have a listen.\n")
    assert ("footer_missing", "body") in checks(check_template(template))
    with pytest.raises(CheckFailed) as caught:
        compose(template, CONTEXT)
    assert checks(caught.value.failures) == {("footer_missing", "body")}
    # the engine's footer satisfies it
    engine = TemplateVersion("nofoot", 2, "{{ track }}", "Hi {{ first_name }}, have a listen.", footer="engine")
    assert check_template(engine) == ()
    body = compose(engine, CONTEXT).body
    assert body.endswith(f"Unsubscribe with one click: {URL}\n") and ENGINE_FOOTER.startswith("\n\n--\n")
    # a send without a URL in the context is refused outright
    with pytest.raises(MissingVariable, match="unsubscribe_url"):
        compose(engine, {k: v for k, v in CONTEXT.items() if k != "unsubscribe_url"})


def test_length_limits_and_subject_on_one_line() -> None:
    template = TemplateVersion("long", 1, "{{ track }}", "{{ company }} {{ unsubscribe_url }}", max_subject_chars=10)
    failures = check_message(
        "x" * 11, "y" * (DEFAULT_MAX_BODY_CHARS + 1) + URL, unsubscribe_url=URL, max_subject_chars=10
    )
    assert checks(failures) == {("too_long", "subject"), ("too_long", "body")}
    with pytest.raises(CheckFailed, match="subject: too_long: 13 characters, the limit is 10"):
        compose(template, {**CONTEXT, "track": "Thirteen char"})
    with pytest.raises(CheckFailed) as caught:
        compose(template, {**CONTEXT, "track": "Blue\nBcc: x@y"})
    assert ("multiline", "subject") in checks(caught.value.failures)
    assert ("empty", "subject") in checks(check_message("  ", "body " + URL, unsubscribe_url=URL))


def test_unresolved_marks_left_fail() -> None:
    failures = check_message("Hi {{ name }}", f"Hello $track {{% if x %}}\n{URL}", unsubscribe_url=URL)
    assert checks(failures) == {("unresolved", "subject"), ("unresolved", "body")}
    assert "{%" in " ".join(f.detail for f in failures) and "$track" in " ".join(f.detail for f in failures)
    # a value that itself looks like a template is data, but still never leaves unresolved marks in a message
    with pytest.raises(CheckFailed, match="unresolved"):
        compose(INTRO, {**CONTEXT, "company": "{{ evil }}"})
    # a template body before rendering may keep only the unsubscribe placeholder
    assert check_message("Hi", "Body\n{{ unsubscribe_url }}", unsubscribe_url=None) == ()


def test_syntax_error_names_part_and_line() -> None:
    broken = TemplateVersion("broken", 7, "ok", "line one\n{% if track %}no end\n{{ unsubscribe_url }}")
    with pytest.raises(TemplateSyntaxProblem, match=r"template broken v7: body line \d"):
        render(broken, CONTEXT)
    assert checks(check_template(broken)) == {("syntax", "template")}


def test_check_template_flags_variables_the_engine_does_not_provide() -> None:
    typo = TemplateVersion("typo", 1, "{{ trak }}", "{{ unsubscribe_url }}")
    (failure,) = check_template(typo)
    assert failure.check == "unknown_variable" and "trak" in failure.detail


def test_preview_renders_a_version_and_lists_failed_checks() -> None:
    claims = TemplateVersion("intro", 4, "{{ track }}", "Guaranteed chart placement for {{ company }}!")
    source = MemoryTemplates([INTRO, claims])
    shown = preview("intro", 3, {k: v for k, v in CONTEXT.items() if k != "unsubscribe_url"}, source=source)
    assert shown.ok and shown.subject == "Blue Hour for Radio Été"
    assert "https://unsubscribe.invalid/" in shown.body
    assert shown.variables == ("company", "first_name", "sender_name", "track", "unsubscribe_url")
    assert "checks: passed" in shown.text()
    bad = preview("intro", 4, CONTEXT, source=source)
    assert not bad.ok
    assert checks(bad.failures) == {("forbidden_claim", "body"), ("footer_missing", "body")}
    assert "checks: FAILED" in bad.text() and "guaranteed chart placement" in bad.text()
    with pytest.raises(KeyError, match="no template intro v9"):
        preview("intro", 9, CONTEXT, source=source)
    with pytest.raises(ValueError, match="versions are not edited"):
        source.add(INTRO)


def test_string_template_rows_render_like_the_old_renderer(tmp_path) -> None:
    subject, body = "New: $track for $company", "Hi ${first_name},\n$$5 off {{ nothing }} for $campaign.\n"
    converted = from_string_template(body)
    assert "{% raw %}" in converted  # literal braces stay literal text...
    warehouse = Warehouse(f"duckdb:///{tmp_path}/w.duckdb")
    warehouse.ensure(TEMPLATES)
    with warehouse.connect() as conn:
        conn.execute(
            "INSERT INTO outreach.templates (template_id, version, org_id, subject, body) VALUES (?, ?, ?, ?, ?)",
            ["legacy", 1, "org", subject, body],
        )
    template = WarehouseTemplates(warehouse).get("legacy", 1)
    assert template.footer == "engine"  # the old rows never carried the link
    message = render(template, CONTEXT)
    old_subject, old_body = legacy_render(subject, body, CONTEXT)
    assert message.subject == old_subject
    assert message.body == old_body + ENGINE_FOOTER.replace("{{ unsubscribe_url }}", URL)
    with pytest.raises(CheckFailed, match="unresolved"):  # ...and a message must not carry them
        compose(template, CONTEXT)
    with pytest.raises(KeyError):
        WarehouseTemplates(warehouse).get("legacy", 2)
    jinja = template_from_row(
        {
            "template_id": "j",
            "version": 2,
            "subject": "{{ track }}",
            "body": "{{ unsubscribe_url }}",
            "syntax": "jinja",
            "forbidden_phrases": '["exclusive premiere"]',
            "max_body_chars": 50,
        }
    )
    assert jinja.footer == "template" and "exclusive premiere" in jinja.all_forbidden_phrases
    assert jinja.max_body_chars == 50


def test_the_reference_renderer_fills_placeholders_and_blanks_unknown_ones() -> None:
    subject, body = legacy_render(
        "$track for $company", "Hi $first_name,\n$track is out. $nothing\n", {"track": "Blue", "company": None}
    )
    assert subject == "Blue for"
    assert body == "Hi ,\nBlue is out. \n"
