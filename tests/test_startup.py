"""Start-up: what every command imports, and the lazy modules that keep it short.

Every `pln` command imports aggregator.cli; the libraries only build, serve, email, import or
a terminal's progress bar need must not come with it (the figures are in docs/benchmarks.md).
"""

from __future__ import annotations

import subprocess
import sys
import textwrap
from pathlib import Path

from aggregator import lazy

NOT_AT_START = (
    "jinja2",  # templates: build and email
    "css_inline",  # email
    "trafilatura",  # full text, loaded by extract on first use
    "rich.progress",  # the progress bar, on a terminal only
    "pygments",  # httpx's command line client, never used
    "listparser",  # OPML, for pln import
    "aggregator.site",
    "aggregator.mail",
    "aggregator.render",
)


def loaded_after(code: str) -> set[str]:
    # A lazy module sits in sys.modules as a _LazyModule until an attribute of it is read.
    script = textwrap.dedent(code) + textwrap.dedent(
        """
        import sys
        for name, module in list(sys.modules.items()):
            if type(module).__name__ != "_LazyModule":
                print(name)
        """
    )
    done = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, check=True, timeout=60
    )
    return set(done.stdout.split())


def test_importing_the_command_line_loads_no_library_it_may_not_need() -> None:
    modules = loaded_after("import aggregator.cli")

    assert "aggregator.app" in modules and "httpx" in modules
    assert not [name for name in NOT_AT_START if name in modules]


def test_a_lazy_module_loads_when_used_and_is_the_one_everyone_imports() -> None:
    modules = loaded_after(
        """
        from aggregator import app
        from aggregator import site
        assert app.site_module is site
        assert site.build_site  # an attribute: now it is loaded, and what it imports
        """
    )

    assert "jinja2" in modules and "aggregator.render" in modules


def test_lazy_module_of_a_loaded_module_is_that_module() -> None:
    assert lazy.module("aggregator.lazy") is lazy


def test_httpx_still_works_without_its_command_line() -> None:
    modules = loaded_after(
        """
        import aggregator.fetch
        import httpx
        assert httpx.URL("https://a.example/x").host == "a.example"
        """
    )

    assert "pygments" not in modules


def test_opening_the_store_looks_for_no_sqlite_utils_plugins(tmp_path: Path) -> None:
    # sqlite-utils finds its plugins by scanning every installed package's entry points
    # (importlib.metadata): 40-80 ms of each command that opens the store, for none.
    modules = loaded_after(
        f"""
        from pathlib import Path
        import aggregator.cli
        from aggregator.store import Store
        Store.open(Path({str(tmp_path / "pln.db")!r})).close()
        """
    )

    assert "aggregator.store" in modules and "importlib.metadata" not in modules
