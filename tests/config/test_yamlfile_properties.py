"""Property tests: whatever bytes a YAML file holds, loading raises only converge's errors."""

from __future__ import annotations

import contextlib
from pathlib import Path
from typing import Any

import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from converge.config.workspace import open_workspace
from converge.config.yamlfile import parse_yaml
from converge.engine.pipeline import validate_project
from converge.errors import ConvergeError

YAML_CHARS = st.sampled_from(list("abc:-[]{}&*!|>'\"#%@`,?\t\n 019.~=<") + ["\u00e9", "\x00"])
scalars = st.one_of(
    st.none(), st.booleans(), st.integers(), st.floats(allow_nan=False), st.text(max_size=20)
)
documents: st.SearchStrategy[Any] = st.recursive(
    scalars,
    lambda inner: st.one_of(
        st.lists(inner, max_size=4),
        st.dictionaries(st.text(min_size=1, max_size=12), inner, max_size=4),
    ),
    max_leaves=20,
)


@given(st.binary(max_size=300))
def test_arbitrary_bytes_raise_only_converge_errors(raw: bytes) -> None:
    with contextlib.suppress(ConvergeError):
        parse_yaml(raw, "f.yaml")


@given(st.text(alphabet=YAML_CHARS, max_size=200))
def test_yaml_like_text_raises_only_converge_errors(text: str) -> None:
    try:
        parse_yaml(text.encode("utf-8", "surrogatepass"), "f.yaml")
    except ConvergeError:
        pass
    except UnicodeEncodeError:
        pass


def _dump(data: Any) -> str:
    import io

    out = io.StringIO()
    yaml.safe_dump(data, out)
    return out.getvalue()


@settings(
    max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    kind=st.sampled_from(
        [
            "projects/journal/project.yaml",
            "projects/journal/identities.yaml",
            "data/infisical/journal/roles.yaml",
            "data/platforms/vercel/journal.yaml",
            "data/platforms/supabase/journal.yaml",
            "projects/journal/waivers.yaml",
        ]
    ),
    data=documents,
)
def test_arbitrary_documents_in_any_input_file_give_only_converge_errors(
    workspace: Path, kind: str, data: Any
) -> None:
    """Any YAML document in any input file is either valid or a located ConvergeError."""
    target = workspace / kind
    original = target.read_text()
    try:
        target.write_text(_dump(data))
        with contextlib.suppress(ConvergeError):
            validate_project(open_workspace(workspace), "journal")
    finally:
        target.write_text(original)
