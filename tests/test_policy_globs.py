"""Action and resource globs: ``*`` is one segment, ``**`` any depth (none included)."""

from __future__ import annotations

import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st

from charter.policy.globs import ACTION, RESOURCE, GlobError, GlobSyntax, any_of


@pytest.mark.parametrize(
    ("pattern", "value", "expected"),
    [
        ("crm.customer.read", "crm.customer.read", True),
        ("crm.customer.read", "crm.customer.write", False),
        ("crm.customer.read", "crm.customer", False),
        ("crm.customer.read", "crm.customer.read.all", False),
        ("crm.customer.*", "crm.customer.read", True),
        ("crm.customer.*", "crm.customer", False),
        ("crm.customer.*", "crm.customer.read.all", False),
        ("crm.*.read", "crm.customer.read", True),
        ("crm.*.read", "crm.read", False),
        ("crm.*.read", "crm.a.b.read", False),
        ("crm.**", "crm", True),
        ("crm.**", "crm.customer", True),
        ("crm.**", "crm.customer.read.all", True),
        ("crm.**", "crmx.customer", False),
        ("crm.**", "billing.crm", False),
        ("crm.**.read", "crm.read", True),
        ("crm.**.read", "crm.customer.read", True),
        ("crm.**.read", "crm.a.b.c.read", True),
        ("crm.**.read", "crm.a.b.c.write", False),
        ("**", "anything", True),
        ("**", "any.thing.at.all", True),
        ("*", "one", True),
        ("*", "one.two", False),
        ("*.*", "one.two", True),
        ("*.*", "one", False),
    ],
)
def test_action_globs(pattern: str, value: str, expected: bool) -> None:
    assert ACTION.compile(pattern).matches(value) is expected


@pytest.mark.parametrize(
    ("pattern", "value", "expected"),
    [
        ("crm/customer/42", "crm/customer/42", True),
        ("crm/customer/42", "crm/customer/420", False),
        ("crm/customer/*", "crm/customer/42", True),
        ("crm/customer/*", "crm/customer", False),
        ("crm/customer/*", "crm/customer/42/notes", False),
        ("crm/*/42", "crm/customer/42", True),
        ("crm/*/42", "crm/42", False),
        ("vault/prod/**", "vault/prod", True),
        ("vault/prod/**", "vault/prod/db", True),
        ("vault/prod/**", "vault/prod/db/root/password", True),
        ("vault/prod/**", "vault/production", False),
        ("vault/prod/**", "vault/staging/db", False),
        ("vault/**/password", "vault/password", True),
        ("vault/**/password", "vault/prod/db/password", True),
        ("vault/**/password", "vault/prod/db/username", False),
        ("**", "crm/customer/42", True),
        ("crm/customer/*", "crm/customer/user@example.com", True),
        # A '.' in a resource is an ordinary character, not a separator.
        ("files/*", "files/report.v2.pdf", True),
        ("files/*", "files/report/v2", False),
    ],
)
def test_resource_globs(pattern: str, value: str, expected: bool) -> None:
    assert RESOURCE.compile(pattern).matches(value) is expected


def test_a_dot_in_an_action_separates_segments() -> None:
    assert not ACTION.compile("crm.*").matches("crm.customer.read")
    assert ACTION.compile("crm.*.*").matches("crm.customer.read")


def test_wildcards_never_match_an_empty_segment() -> None:
    assert not ACTION.compile("crm.*").matches("crm.")
    assert not RESOURCE.compile("crm/*/42").matches("crm//42")
    assert not RESOURCE.compile("**").matches("")


def test_literal_patterns_are_marked_literal_and_match_only_themselves() -> None:
    glob = ACTION.compile("crm.customer.read")
    assert glob.literal
    assert not ACTION.compile("crm.*").literal
    assert not ACTION.compile("crm.**").literal
    # A regex metacharacter in a literal segment means itself.
    assert RESOURCE.compile("files/a+b").matches("files/a+b")
    assert not RESOURCE.compile("files/a+b").matches("files/aab")
    assert not RESOURCE.compile("files/a.b").matches("files/axb")


def test_only_a_lone_double_star_matches_everything() -> None:
    assert ACTION.compile("**").matches_everything
    assert not ACTION.compile("*").matches_everything
    assert not ACTION.compile("crm.**").matches_everything


@pytest.mark.parametrize(
    ("pattern", "suggestion"),
    [("crm.cust*", "'crm.*'"), ("crm.*er.read", "'crm.*.read'"), ("crm.***", "'crm.*'")],
)
def test_a_star_inside_an_action_segment_is_refused_with_a_suggestion(
    pattern: str, suggestion: str
) -> None:
    with pytest.raises(GlobError, match="must stand for a whole segment") as raised:
        ACTION.compile(pattern)
    assert suggestion in str(raised.value)


@pytest.mark.parametrize("pattern", ["crm/cust*", "crm/*42", "vault/**x"])
def test_a_star_inside_a_resource_segment_is_refused(pattern: str) -> None:
    with pytest.raises(GlobError, match="must stand for a whole segment"):
        RESOURCE.compile(pattern)


@pytest.mark.parametrize("syntax", [ACTION, RESOURCE])
def test_an_empty_pattern_is_refused(syntax: GlobSyntax) -> None:
    with pytest.raises(GlobError, match="empty"):
        syntax.compile("")


@pytest.mark.parametrize("pattern", ["crm..read", ".crm", "crm.", "CRM.read", "crm.read!", "a b"])
def test_malformed_action_segments_are_refused(pattern: str) -> None:
    with pytest.raises(GlobError, match="invalid segment"):
        ACTION.compile(pattern)


@pytest.mark.parametrize("pattern", ["/crm", "crm/", "crm//42", "crm/a b", "crm/a?"])
def test_malformed_resource_segments_are_refused(pattern: str) -> None:
    with pytest.raises(GlobError, match="invalid segment"):
        RESOURCE.compile(pattern)


_SEGMENTS = st.sampled_from(["crm", "customer", "42", "*", "**", "vault", "prod"])
_VALUES = st.lists(st.sampled_from(["crm", "customer", "42", "vault", "prod", "x"]), max_size=5)


@given(
    st.lists(st.lists(_SEGMENTS, min_size=1, max_size=4), min_size=1, max_size=4),
    _VALUES,
)
def test_any_of_agrees_with_matching_each_glob(patterns: list[list[str]], value: list[str]) -> None:
    globs = [RESOURCE.compile("/".join(parts)) for parts in patterns]
    resource = "/".join(value)
    assert any_of(globs)(resource) is any(glob.matches(resource) for glob in globs)


def test_a_trailing_newline_is_part_of_the_value() -> None:
    glob = RESOURCE.compile("vault/**/password")
    assert glob.matches("vault/prod/password")
    assert not glob.matches("vault/prod/password\n")
    assert not any_of([glob])("vault/prod/password\n")


_ODD_VALUES = st.text(alphabet="ab/.\nA", max_size=8)


@settings(max_examples=500)
@given(
    st.sampled_from([ACTION, RESOURCE]),
    st.lists(st.sampled_from(["a", "b", "ab"]), max_size=3),
    st.sampled_from(["*", "**"]),
    st.lists(st.sampled_from(["a", "b", "ab"]), max_size=2),
    _ODD_VALUES,
)
@example(RESOURCE, ["a"], "**", [], "a//b")
@example(RESOURCE, ["a"], "**", [], "a/b/")
@example(RESOURCE, [], "**", [], "/a")
@example(RESOURCE, [], "**", [], "")
@example(RESOURCE, ["a"], "*", [], "a/")
@example(ACTION, ["a"], "*", [], "a.b\n")
def test_a_pattern_ending_in_its_only_wildcard_matches_as_its_regex_does(
    syntax: GlobSyntax, head: list[str], last: str, literals: list[str], value: str
) -> None:
    # Such patterns are tested by string methods, not their regex: any string at all,
    # separators doubled, leading or trailing, a newline, must get the regex's answer.
    glob = syntax.compile(syntax.separator.join([*head, last]))
    others = [syntax.compile(literal) for literal in literals]
    expected = glob.matches(value) or value in literals
    assert any_of([glob, *others])(value) is expected
    spelled = value.replace("/", syntax.separator)
    assert any_of([glob])(spelled) is glob.matches(spelled)
