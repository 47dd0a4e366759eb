"""The top-level package loads its public names on first use (PEP 562, ``src/rnndyn/__init__.py``):
every public name still resolves to the object its module defines, ``dir`` lists them, a
misspelled name is a clear ``AttributeError``, and the names type checkers read agree with the
ones loaded at run time. (That ``import rnndyn`` loads no torch is checked in a fresh interpreter
by ``tests/test_cli_basic.py::test_help_and_version_import_no_torch``.)
"""

from __future__ import annotations

import ast
import importlib
import sys
import types
from pathlib import Path

import pytest

import rnndyn as rd

INIT = Path(rd.__file__)
#: ``__all__`` of the eager ``__init__`` (eefe51f): none of these may go (new names may come)
EAGER_NAMES = set(
    "AbstractFlow AbstractMap AbstractSystem AnalysisError AnalysisResult CLVResult Check "
    "DataLyapunovResult Discretised FTLEResult FixedPointResult GRU GatedRateRNN Henon LSTM Logistic "
    "Lorenz63 Lorenz96 LyapunovEngine LyapunovResult PLRNN RateRNN Result Rossler SpectrumResult "
    "Status Tent TorchGRU TorchLSTM TorchRNN VanillaRNN __version__ analyze autonomous chaos "
    "check_jacobian covariant_lyapunov_vectors discretise find_fixed_points finite_time_exponents "
    "from_torch init jacobian jacobian_spectrum load_model load_torch_model lyapunov_from_data "
    "lyapunov_spectrum max_lyapunov meanfield phase_diagram rollout_like_torch simulate sweep training".split()
)


def _static_names() -> dict[str, str]:
    """name -> module of the imports under ``if TYPE_CHECKING:`` in the package ``__init__``."""
    tree = ast.parse(INIT.read_text())
    block = next(n for n in tree.body if isinstance(n, ast.If) and ast.unparse(n.test) == "TYPE_CHECKING")
    names: dict[str, str] = {}
    for node in block.body:
        assert isinstance(node, ast.ImportFrom) and node.module, ast.unparse(node)
        for alias in node.names:
            assert alias.asname == alias.name, f"`{alias.name}` must be re-exported as itself"
            names[alias.name] = node.module if node.module != "rnndyn" else f"rnndyn.{alias.name}"
    return names


def test_every_public_name_is_its_modules_object() -> None:
    loaded = {name: f"rnndyn.{name}" for name in rd._SUBPACKAGES} | rd._EXPORTS
    assert sorted(rd.__all__) == sorted([*loaded, "__version__"])
    assert len(rd.__all__) == len(set(rd.__all__)) and EAGER_NAMES <= set(rd.__all__)
    for name, module in loaded.items():
        source = importlib.import_module(module)
        expected = source if name in rd._SUBPACKAGES else getattr(source, name)
        assert getattr(rd, name) is expected, name
    namespace: dict[str, object] = {}
    exec("from rnndyn import *", namespace)
    assert set(rd.__all__) <= set(namespace)
    assert set(rd.__all__) <= set(dir(rd))
    assert rd.__version__ == importlib.import_module("rnndyn._version").__version__


def test_type_checkers_see_the_names_loaded_at_run_time() -> None:
    """A public name is one line in ``_EXPORTS`` and its import under ``TYPE_CHECKING``."""
    loaded = {name: f"rnndyn.{name}" for name in rd._SUBPACKAGES} | rd._EXPORTS
    static = _static_names()
    assert sorted(set(loaded) - set(static)) == [], (
        "add `from MODULE import NAME as NAME` under TYPE_CHECKING"
    )
    assert sorted(set(static) - set(loaded)) == [], "add the name to _EXPORTS (name -> module)"
    assert {k: v for k, v in static.items() if loaded[k] != v} == {}


def test_misspelled_names_are_clear_attribute_errors() -> None:
    with pytest.raises(
        AttributeError, match=r"has no attribute 'lyapunov_spectrun'; did you mean 'lyapunov_spectrum'"
    ):
        rd.lyapunov_spectrun  # noqa: B018
    with pytest.raises(AttributeError, match=r"^module 'rnndyn' has no attribute 'no_such_thing'$"):
        rd.no_such_thing  # noqa: B018
    with pytest.raises(ImportError, match="cannot import name 'GRUU' from 'rnndyn'"):
        exec("from rnndyn import GRUU", {})
    assert not hasattr(rd, "no_such_thing") and not hasattr(rd, "lyapunov.DEFAULTS")  # not an import


def test_other_submodules_load_as_attributes() -> None:
    # the eager __init__ left every submodule it imported as an attribute (rd.lyapunov.DEFAULTS)
    assert rd.lyapunov is sys.modules["rnndyn.lyapunov"]
    assert rd.lyapunov.DEFAULTS is importlib.import_module("rnndyn._lyapunov_defaults").DEFAULTS
    assert rd.models is sys.modules["rnndyn.models"] and rd.models.GRU is rd.GRU


@pytest.mark.parametrize("name", ["simulate", "discretise"])
def test_a_function_is_not_hidden_by_its_module(name: str) -> None:
    """``rnndyn.simulate`` is both a module and the public function it defines: importing the
    module binds it on the package (``setattr(rnndyn, "simulate", module)``, what the import
    system does when an analysis imports it first), and the function must stay ``rd.simulate``."""
    module = importlib.import_module(f"rnndyn.{name}")
    setattr(rd, name, module)
    assert isinstance(getattr(rd, name), types.FunctionType)
    assert getattr(rd, name) is getattr(module, name)
