"""The course website (helper.tools.site): each notebook links to its page, executed copies are reused only
while current, the build is deterministic, and in Chromium a reader finds every page in order, every image,
typeset math, search, unbroken links and a quiet console.

The site under test is built from the committed notebooks (their check outputs and diagrams), which CI
has at hand without executing anything more; needs Debian's chromium at /usr/bin/chromium for the browser.
"""

from __future__ import annotations

import functools
import os
import re
import threading
import time
import tomllib
import urllib.request
from html.parser import HTMLParser
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import unquote, urljoin, urlsplit

import nbformat
import pytest
from conftest import COURSE_NOTEBOOKS, IN_CHECKOUT, course_notebook_params, write_tiny_notebook
from papermill.iorw import load_notebook_node
from papermill.parameterize import parameterize_notebook

from helper.tools import homework, site
from helper.tools.notebooks import COLAB_LINE, NOTEBOOK_DIR, colab_url, is_check_cell

ROOT = Path(__file__).resolve().parents[1]
CHROMIUM = Path("/usr/bin/chromium")
SITE_LINK = re.compile(r"\[Course website\]\((\S+?)\)")


def expected_page(notebook: str) -> str:
    """The GitHub Pages address of a notebook's page, from pyproject.toml's repository URL."""
    with open(ROOT / "pyproject.toml", "rb") as f:
        repository = tomllib.load(f)["project"]["urls"]["Repository"]
    owner, name = repository.removeprefix("https://github.com/").split("/")
    return f"https://{owner.lower()}.github.io/{name}/{Path(notebook).stem}.html"


@pytest.mark.parametrize("path", course_notebook_params())
def test_each_notebook_links_to_its_page_under_the_colab_line(path):
    title = next(c for c in nbformat.read(path, as_version=4).cells if c.cell_type == "markdown")
    assert SITE_LINK.findall(title.source) == [expected_page(path.name)] == [site.site_url(path.name)], \
        f"{path.name}: its title cell should link to {expected_page(path.name)} (python -m helper.tools " \
        "site --link-notebooks writes it)"
    colab = COLAB_LINE.search(title.source)
    assert colab is not None and title.source[colab.end():].startswith("[Course website]"), \
        f"{path.name}: the site link should follow the Open in Colab line"


def test_the_homework_copy_keeps_the_site_link_but_not_colab():
    [path] = [p for p in COURSE_NOTEBOOKS if homework.grade_cells(nbformat.read(p, as_version=4))][:1]
    copy = homework.student_copy(nbformat.read(path, as_version=4), path)
    title = next(c for c in copy.cells[1:] if c.cell_type == "markdown")
    assert SITE_LINK.findall(title.source) == [expected_page(path.name)]
    assert "Open in Colab" not in title.source


def test_linking_writes_the_line_once_and_leaves_the_rest_of_the_notebook_alone(tmp_path):
    original = COURSE_NOTEBOOKS[0]
    unlinked = nbformat.read(original, as_version=4)
    unlinked.cells[0].source = site.SITE_LINE.sub("", unlinked.cells[0].source)
    target = tmp_path / original.name
    nbformat.write(unlinked, target)
    assert site.link_notebooks([target]) == [target]
    assert target.read_bytes() == original.read_bytes()
    assert site.link_notebooks([target]) == []


def executed_copy(source: Path, target: Path, mode: str = "lecture") -> Path:
    """What the runner writes for ``source`` (papermill's parameters injected), without executing it."""
    nb = parameterize_notebook(load_notebook_node(str(source)), {"MODE": mode}, kernel_name="python3",
                               language="python")
    nbformat.write(nb, target)
    return target


@IN_CHECKOUT
def test_an_executed_copy_is_reused_only_while_current(tmp_path):
    source = write_tiny_notebook(tmp_path / "01_tiny.ipynb")
    build = tmp_path / "build"
    build.mkdir()
    ran = build / source.name
    assert site.stale_reason(source, ran) == "not run yet"
    executed_copy(source, ran)
    assert site.stale_reason(source, ran) is None
    executed_copy(source, ran, mode="smoke")
    assert "not of a lecture-mode run" in site.stale_reason(source, ran)
    nb = nbformat.read(executed_copy(source, ran), as_version=4)
    nb.cells[-1].outputs = [nbformat.v4.new_output("error", ename="ValueError", evalue="x", traceback=[])]
    nbformat.write(nb, ran)
    assert site.stale_reason(source, ran) == "it failed when it ran"
    executed_copy(source, ran)
    edited = nbformat.read(source, as_version=4)
    edited.cells[0].source += "\nOne more sentence."
    nbformat.write(edited, source)
    assert site.stale_reason(source, ran) == "the notebook changed since it ran"
    executed_copy(source, ran)
    old = min(p.stat().st_mtime for p in site.LIBRARY) - 60
    os.utime(ran, (old, old))
    assert site.stale_reason(source, ran) == "the notebook or the helper library changed since it ran"


@IN_CHECKOUT
def test_what_is_not_current_runs_with_the_runner(tmp_path, capsys):
    source = write_tiny_notebook(tmp_path / "01_tiny.ipynb")
    build = tmp_path / "build"
    site.run_missing([source], build)
    assert "01_tiny: runs now (not run yet)" in capsys.readouterr().out
    assert site.stale_reason(source, build / source.name) is None
    run = site.read_run(build, [build / source.name], here=True)
    assert run.table and run.seconds["01_tiny"].isdigit(), "the run should add its row to results.md"
    site.run_missing([source], build)
    assert "is current" in capsys.readouterr().out


def test_a_page_hides_the_set_up_collapses_checks_and_shows_no_solution():
    path = COURSE_NOTEBOOKS[0]
    nb = nbformat.read(path, as_version=4)
    teaching = next(c for c in nb.cells if c.cell_type == "code" and not c.metadata.get("tags")
                    and not is_check_cell(c) and not homework.nbgrader_meta(c))
    teaching.outputs = [nbformat.v4.new_output("display_data", data={"text/plain": ""}),  # an emptied display
                        nbformat.v4.new_output("display_data", data={site.WIDGET_VIEW: {"model_id": "1"},
                                                                     "text/plain": "epochs: 100%"})]
    page = site.page_notebook(nb, path, "downloads")
    [bar] = page.cells[nb.cells.index(teaching)].outputs
    assert bar.data == {"text/plain": "epochs: 100%"}, "a widget's view should leave only its text"
    tags = [c.metadata.get("tags", []) for c in page.cells]
    for cell, cell_tags in zip(nb.cells, tags, strict=True):
        if "setup-check" in cell.metadata.get("tags", []):
            assert "remove-cell" in cell_tags
        elif is_check_cell(cell):
            assert "hide-cell" in cell_tags
        elif cell.cell_type == "code" and not homework.nbgrader_meta(cell):
            assert not {"remove-cell", "hide-cell"} & set(cell_tags), cell.source[:60]
    assert not any("BEGIN SOLUTION" in c.source or "BEGIN HIDDEN TESTS" in c.source for c in page.cells)
    title = page.cells[0].source
    assert f"[Open in Colab]({colab_url(path.name)})" in title and f"<downloads/{path.name}>" in title
    assert f"<downloads/homework/{path.name}>" in title and "[Course website]" not in title


@IN_CHECKOUT
def test_a_folder_without_the_executed_notebooks_is_one_sentence(tmp_path, capsys):
    assert site.main(["--executed", str(tmp_path), "--out", str(tmp_path / "site")]) == 2
    [line] = capsys.readouterr().err.splitlines()
    assert line.startswith(f"There is no executed notebook {tmp_path / COURSE_NOTEBOOKS[0].name}"), line
    assert not (tmp_path / "site").exists()


def test_without_mathjax_s_package_the_site_says_what_to_install(monkeypatch):
    from helper.errors import CourseError

    monkeypatch.setattr(site.importlib.util, "find_spec", lambda name: None)
    with pytest.raises(CourseError, match=r"needs the package sphinx-mathjax-offline .*\.\[tools\]"):
        site.sphinx_config()


@pytest.mark.parametrize(("markdown", "read"), [
    ("small ($9\\,C\n+ 9\\,C^2$).", "small ($9\\,C + 9\\,C^2$)."),  # "+ " would start a list
    ("$a$ and\n$b$", "$a$ and\n$b$"),  # the line break is between two formulas
    ("$$\nx\n$$ and `$a\nb`", "$$\nx\n$$ and `$a\nb`"),  # display math and code stay as they are
    ("\\$5 and $a\nb$", "\\$5 and $a b$"),
])
def test_inline_math_reads_as_in_jupyter(markdown, read):
    assert site.inline_math_on_one_line(markdown) == read


@pytest.fixture(scope="module")
def built(tmp_path_factory) -> dict:
    """The site of the committed notebooks, built twice; the seconds of the first build."""
    base = tmp_path_factory.mktemp("site")
    start = time.monotonic()
    assert site.main(["--executed", str(NOTEBOOK_DIR), "--out", str(base / "first")]) == 0
    seconds = time.monotonic() - start
    assert site.main(["--executed", str(NOTEBOOK_DIR), "--out", str(base / "second")]) == 0
    print(f"site built in {seconds:.0f} s")
    return {"first": base / "first", "second": base / "second", "seconds": seconds}


def files(folder: Path) -> dict[str, bytes]:
    return {str(p.relative_to(folder)): p.read_bytes() for p in sorted(folder.rglob("*")) if p.is_file()}


@IN_CHECKOUT
def test_the_same_notebooks_give_a_byte_identical_site(built):
    first, second = files(built["first"]), files(built["second"])
    assert sorted(first) == sorted(second)
    differ = [name for name in first if first[name] != second[name]]
    assert not differ, f"two builds of the same notebooks differ in {differ[:5]}"


class Links(HTMLParser):
    """The addresses a page refers to (links, scripts, images, style sheets) and the ids it defines."""

    def __init__(self) -> None:
        super().__init__()
        self.targets: list[str] = []
        self.ids: set[str] = set()

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        values = dict(attrs)
        if values.get("id"):
            self.ids.add(values["id"])
        for name in ("href", "src"):
            if values.get(name) and (tag, name) != ("form", "href"):
                self.targets.append(values[name])


def parsed(page: Path) -> Links:
    links = Links()
    links.feed(page.read_text(encoding="utf-8"))
    return links


@IN_CHECKOUT
def test_no_internal_link_is_broken(built):
    folder = built["first"]
    pages = {page: parsed(page) for page in folder.glob("*.html")}  # _static/ holds the themes' templates
    broken = []
    for page, links in pages.items():
        for target in links.targets:
            parts = urlsplit(target)
            if parts.scheme in ("http", "https", "mailto", "data"):
                continue
            path = (page.parent / unquote(parts.path)).resolve() if parts.path else page
            if not path.is_file():
                broken.append(f"{page.name}: {target}")
            elif parts.fragment and path.suffix == ".html" and parts.fragment not in pages[path].ids:
                broken.append(f"{page.name}: {target} (no such anchor)")
    assert not broken, f"broken internal links: {broken[:10]}"


def served(folder: Path):
    """An HTTP server on a free local port over ``folder``, and its address."""
    handler = functools.partial(SimpleHTTPRequestHandler, directory=str(folder))
    handler.log_message = lambda *args: None
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server, f"http://127.0.0.1:{server.server_address[1]}"


# The page's text outside code, outputs and typeset math, where a raw $ or \( would be untypeset math.
PROSE = """() => {
    const article = document.querySelector('article').cloneNode(true);
    article.querySelectorAll('pre, code, mjx-container, script, .cell_output').forEach(e => e.remove());
    return article.textContent;
}"""
# True once MathJax, on a page that loads it, has started (its typesetting is then a promise to wait for).
MATHJAX_READY = "() => !document.querySelector('script[src*=tex-svg]') || window.MathJax?.startup?.promise"
# Whether every image of the page has loaded (after each was scrolled into view).
IMAGES = """() => [...document.images].map(i => ({src: i.getAttribute('src'),
                                                 ok: i.complete && i.naturalWidth > 0}))"""


@pytest.mark.browser
@pytest.mark.skipif(not CHROMIUM.exists(), reason="Debian's chromium is missing (.ci/run installs it).")
@IN_CHECKOUT
def test_a_reader_in_chromium(built, tmp_path):
    from playwright.sync_api import sync_playwright

    server, url = served(built["first"])
    problems: list[str] = []
    visited, math_pages = [], 0
    try:
        with sync_playwright() as p:
            browser = p.chromium.launch(
                executable_path=str(CHROMIUM), headless=True,
                args=["--no-sandbox", "--disable-gpu", "--disable-background-networking",
                      "--disable-component-update", "--no-first-run"])
            page = browser.new_page(viewport={"width": 1300, "height": 1000})
            page.on("console", lambda m: problems.append(f"console {m.type}: {m.text}")
                    if m.type == "error" else None)
            page.on("pageerror", lambda e: problems.append(f"page error: {e}"))
            page.on("requestfailed", lambda r: problems.append(f"request failed: {r.url}"))
            page.on("response",
                    lambda r: problems.append(f"HTTP {r.status}: {r.url}") if r.status >= 400 else None)

            page.goto(f"{url}/index.html")
            listed = page.eval_on_selector_all("article table a.reference.internal",
                                               "links => links.map(a => a.getAttribute('href'))")
            sidebar = page.eval_on_selector_all("nav.bd-docs-nav a.reference.internal",
                                                "links => links.map(a => a.getAttribute('href'))")
            here = page.url
            while (following := page.locator("a.right-next")).count():
                page.goto(urljoin(here, following.first.get_attribute("href")))
                here = page.url
                name = here.rsplit("/", 1)[1]
                visited.append(name)
                page.wait_for_function(MATHJAX_READY, timeout=30_000)
                page.evaluate("() => window.MathJax?.startup?.promise")
                for image in page.locator("article img").all():
                    image.scroll_into_view_if_needed()
                page.wait_for_load_state("load")
                not_loaded = [i["src"] for i in page.evaluate(IMAGES) if not i["ok"]]
                if not_loaded:
                    problems.append(f"{name}: images not loaded: {not_loaded}")
                prose = page.evaluate(PROSE)
                for raw in ("$", "\\(", "\\["):
                    if raw in prose:
                        at = prose.index(raw)
                        problems.append(f"{name}: raw {raw} in the text: {prose[max(0, at - 60):at + 60]!r}")
                math_pages += page.locator("article mjx-container").count() > 0
                stem = name.removesuffix(".html")
                colab = page.locator("article a", has_text="Open in Colab").first.get_attribute("href")
                if colab != colab_url(f"{stem}.ipynb"):
                    problems.append(f"{name}: Open in Colab goes to {colab}")
                for label, check in (("Download the notebook", (NOTEBOOK_DIR / f"{stem}.ipynb").read_bytes()),
                                     ("Download its homework copy", None)):
                    link = page.locator("article a", has_text=label)
                    if not link.count():
                        problems.append(f"{name}: no link '{label}'")
                        continue
                    with urllib.request.urlopen(urljoin(here, link.first.get_attribute("href"))) as reply:
                        body = reply.read()
                    if check is not None and body != check:
                        problems.append(f"{name}: '{label}' is not notebooks/{stem}.ipynb")
                    if check is None and (b"BEGIN SOLUTION" in body or not nbformat.reads(body, 4).cells):
                        problems.append(f"{name}: '{label}' is not a student copy")

            page.goto(f"{url}/search.html?q=Inception")
            page.locator("#search-results ul li a").first.wait_for(timeout=30_000)
            found = page.eval_on_selector_all("#search-results ul li a",
                                              "links => links.map(a => a.getAttribute('href'))")
            page.screenshot(path=str(tmp_path / "search.png"))
            browser.close()
    finally:
        server.shutdown()
    order = [f"{p.stem}.html" for p in COURSE_NOTEBOOKS]
    assert listed == order, f"the home page should list the notebooks in order: {listed}"
    assert sidebar == order, f"the sidebar should list the notebooks in order: {sidebar}"
    assert visited == order, f"Next from the home page should go through the notebooks in order: {visited}"
    assert math_pages > 0, "no page shows typeset math"
    assert any(link.split("?")[0].split("#")[0] == "13_inception_googlenet.html" for link in found), \
        f"searching for Inception should find notebook 13: {found}"
    assert not problems, "\n".join(problems)

