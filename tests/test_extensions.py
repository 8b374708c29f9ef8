"""The optional C extensions are built wherever a C compiler is.

They are optional so that selfdata installs without a compiler, which also
means a build that fails is silent: the tests of the fast paths would then skip
instead of failing. Where a compiler is present, a missing extension is a bug.
"""

from __future__ import annotations

import importlib
import shutil
import sysconfig

import pytest

COMPILER = shutil.which(str(sysconfig.get_config_var("CC") or "cc").split()[0])


@pytest.mark.skipif(COMPILER is None, reason="no C compiler: the extensions are optional")
@pytest.mark.parametrize("name", ["selfdata._xmltok", "selfdata._jsonscan"])
def test_the_c_extension_was_built(name: str) -> None:
    module = importlib.import_module(name)
    assert module.__file__ is not None
    assert module.__file__.endswith(sysconfig.get_config_var("EXT_SUFFIX"))
