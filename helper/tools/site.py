"""The course website: every notebook of a lecture-mode run with all its outputs, readable without running.

    python -m helper.tools site                       # build/site from build/ (runs what is missing there)
    python -m helper.tools site --executed notebooks  # from notebooks as they are, running nothing
    python -m helper.tools site --link-notebooks      # the site link into each notebook's title cell

The site is built by Sphinx with MyST-NB, which renders the stored outputs (it executes nothing), in the
book theme; search is Sphinx's own and MathJax comes from a pip package, so neither building nor reading
the site needs the network. An executed copy in build/ is reused when it is current (:func:`stale_reason`);
the others are run by the one runner (``make run``'s) first, which also updates build/results.md.
"""

from __future__ import annotations

import argparse
import copy
import importlib.util
import os
import platform
import re
import shutil
import subprocess
import sys
import tempfile
from dataclasses import dataclass
from datetime import UTC, datetime
from importlib.metadata import version
from pathlib import Path
from typing import Any

import nbformat

from helper.errors import CourseError, one_line
from helper.results import RESULT_MIME
from helper.tools import homework, runner
from helper.tools.notebooks import (
    COLAB_LINE,
    NOTEBOOK_DIR,
    REPO_ROOT,
    REPOSITORY,
    WIDGET_VIEW,
    colab_url,
    is_check_cell,
    lecture_notebooks,
    read_notebook,
)

BUILD_DIR = REPO_ROOT / "build"
MODE = "lecture"
# What an executed copy depends on besides its notebook: the library the notebook imports and its diagrams.
LIBRARY = [path for pattern in ("*.py", "models/*.py", "figures/*.png")
           for path in sorted((REPO_ROOT / "helper").glob(pattern))]
# The line under each notebook's title that links to its page on the site (homework copies keep it: the
# page shows the exercises as the student copy has them).
SITE_LINE = re.compile(r"^\[Course website\]\(\S+?\).*\n+", re.MULTILINE)
MISSING = "-"


def site_url(notebook: str = "") -> str:
    """The course website, the GitHub Pages address of pyproject.toml's repository, or its page for the
    notebook file ``notebook``."""
    found = re.fullmatch(r"https://github\.com/([\w.-]+)/([\w.-]+?)(?:\.git)?/?", REPOSITORY)
    if found is None:
        raise CourseError(f"The repository {REPOSITORY} (pyproject.toml, [project.urls]) is not on GitHub, "
                          "so the site's address cannot be derived; change site_url in helper/tools/site.py.")
    owner, name = found.groups()
    return f"https://{owner.lower()}.github.io/{name}/" + (f"{Path(notebook).stem}.html" if notebook else "")


def site_line(notebook: str) -> str:
    """The markdown line under a notebook's title that links to its page."""
    return (f"[Course website]({site_url(notebook)}): this notebook with every output of a lecture-mode run, "
            "to read before running it.\n\n")


def with_site_link(source: str, notebook: str) -> str:
    """A title cell's ``source`` with the site line for ``notebook`` after its Colab line (once)."""
    source = SITE_LINE.sub("", source)
    colab = COLAB_LINE.search(source)
    if colab is None:
        raise CourseError(f"{notebook}: its title cell has no [Open in Colab](...) line to put the site link "
                          "under (CONTRIBUTING.md, Notebook conventions).")
    return source[:colab.end()] + site_line(notebook) + source[colab.end():]


def link_notebooks(paths: list[Path]) -> list[Path]:
    """Write the site line into the title cell of each of ``paths`` where it is missing or differs; the
    notebooks changed."""
    changed = []
    for path in paths:
        nb = read_notebook(path)
        title = next(c for c in nb.cells if c.cell_type == "markdown")
        linked = with_site_link(title.source, path.name)
        if linked != title.source:
            title.source = linked
            nbformat.write(nb, path)
            changed.append(path)
    return changed


def _cells(nb: nbformat.NotebookNode) -> list[tuple[str, str]]:
    return [(c.cell_type, c.source) for c in nb.cells
            if "injected-parameters" not in c.metadata.get("tags", [])]


def stale_reason(source: Path, executed: Path) -> str | None:
    """Why ``executed`` is not a current lecture-mode run of the notebook ``source``; None when it is.

    Current: a readable lecture-mode copy whose cells are the notebook's cells (the parameters papermill
    injected aside), that raised no error, written after every file of the helper library changed.
    """
    if not executed.is_file():
        return "not run yet"
    try:
        ran = read_notebook(executed)
    except CourseError:
        return "its executed copy is unreadable"
    if ran.metadata.get("papermill", {}).get("parameters", {}).get("MODE") != MODE:
        return f"its executed copy is not of a {MODE}-mode run"
    if _cells(ran) != _cells(read_notebook(source)):
        return "the notebook changed since it ran"
    if any(o.get("output_type") == "error" for c in ran.cells for o in c.get("outputs", [])):
        return "it failed when it ran"
    newest = max((p.stat().st_mtime for p in [source, *LIBRARY]), default=0.0)
    if executed.stat().st_mtime < newest:
        return "the notebook or the helper library changed since it ran"
    return None


def run_missing(notebooks: list[Path], build: Path) -> None:
    """Execute (with the runner, in lecture mode) the notebooks whose copy in ``build`` is not current."""
    stale = []
    for path in notebooks:
        if (reason := stale_reason(path, build / path.name)) is not None:
            print(f"{path.stem}: runs now ({reason})")
            stale.append(path)
    if not stale:
        print(f"Every notebook's lecture-mode run in {build} is current.")
        return
    failed = [o for o in runner.run(stale, build, MODE) if not o.ok]
    if failed:
        name, message = failed[0].name, failed[0].message
        raise CourseError(f"{name} did not run ({message}); the site shows every notebook, so make it run "
                          f"(make run NB={name[:2]}) and build the site again.")


@dataclass
class Run:
    """What the home page says about the run the site shows."""

    table: list[str]  # the rows of results.md's lecture table
    seconds: dict[str, str]  # notebook stem -> seconds
    date: str
    machine: str  # empty when the notebooks came executed from elsewhere


def machine() -> str:
    """This machine in a few words: processor, cores, system, Python, torch."""
    cpu = platform.processor() or platform.machine()
    try:
        names = re.findall(r"^model name\s*:\s*(.+)$", Path("/proc/cpuinfo").read_text(), re.MULTILINE)
        cpu = names[0].strip() if names else cpu
    except OSError:
        pass
    return (f"{cpu}, {os.cpu_count()} cores, {platform.system()}, Python {platform.python_version()}, "
            f"torch {version('torch')}")


SECONDS = runner.TABLE_HEADER[0].split(" | ").index("seconds")  # the column of a results row


def read_run(folder: Path, executed: list[Path], here: bool) -> Run:
    """The lecture table of ``folder``/results.md for ``executed`` (empty when there is none), the date of
    the newest of them, and this machine when they ran ``here``."""
    results = folder / "results.md"
    text = results.read_text(encoding="utf-8") if results.is_file() else ""
    rows = runner.result_tables(text).get(MODE, {})
    wanted = {p.stem for p in executed}
    table = [row for name, row in rows.items() if name in wanted]
    seconds = {name: row.split(" | ")[SECONDS] for name, row in rows.items() if name in wanted}
    newest = max(p.stat().st_mtime for p in executed)
    return Run(table, seconds, datetime.fromtimestamp(newest, UTC).strftime("%Y-%m-%d"),
               machine() if here else "")


def readme_parts() -> tuple[str, str, dict[str, str]]:
    """From README.md: the course in a paragraph, the quick-start commands, and what each notebook teaches."""
    text = (REPO_ROOT / "README.md").read_text(encoding="utf-8")
    intro = re.search(r"^# .+?\n\n(.+?)\n\n## ", text, re.DOTALL | re.MULTILINE)
    quick = re.search(r"^## Quick start\n\n```bash\n(.+?)```", text, re.DOTALL | re.MULTILINE)
    teaches = dict(re.findall(r"^\| \[`(\d\d_\w+)`\]\([^)]*\) \| (.+) \|$", text, re.MULTILINE))
    if intro is None or quick is None or not teaches:
        raise CourseError("README.md lacks its first paragraph, its Quick start commands or its table 'What "
                          "each notebook teaches', which the site's home page shows; restore them.")
    return intro.group(1), quick.group(1), teaches


def title_of(nb: nbformat.NotebookNode) -> str:
    """The notebook's title: the heading of its first markdown cell."""
    title = next(c for c in nb.cells if c.cell_type == "markdown").source.lstrip()
    return title.splitlines()[0].removeprefix("# ").strip()


def home_page(pages: list[tuple[Path, str]], run: Run) -> str:
    """The home page (MyST markdown): the course, its notebooks in order, the run's results, the set-up."""
    intro, quick, teaches = readme_parts()
    lines = ["# Convolutional networks, part 2", "", intro, "",
             "Each page below is one notebook with every output of a lecture-mode run: read it here, then "
             "run it yourself (links at the top of each page).", "",
             "## The notebooks", "",
             "| notebook | what you learn | seconds (lecture mode) |", "|---|---|---:|"]
    for path, title in pages:
        lines.append(f"| [{title}]({path.name}) | {teaches.get(path.stem, MISSING)} | "
                     f"{run.seconds.get(path.stem, MISSING)} |")
    lines += ["", "## The lecture run shown here", ""]
    if run.table:
        where = f"on this site's build machine: {run.machine}" if run.machine else "on a machine not recorded"
        lines += [f"Run on {run.date} (UTC) {where}; the seconds include the kernel's start.", "",
                  *runner.TABLE_HEADER, *run.table]
    else:
        lines += ["These pages show the outputs of notebooks given to the site builder as they were, without "
                  "the results table of a `make run`."]
    lines += ["", "## Set-up", "", "In a clone of the course repository:", "",
              "```bash", quick.rstrip(), "```", "",
              "Without `make`, on Windows or elsewhere: the course's README says how, section *Set-up*. "
              "On Google Colab, open a notebook with the *Open in Colab* link at the top of its page and run "
              "its first code cell: it sets the course up there.", "",
              "```{toctree}", ":hidden:", ":maxdepth: 1", "", *(p.stem for p, _ in pages), "```", ""]
    return "\n".join(lines)


# Jupyter takes the math out of a markdown cell before it reads the markdown; MyST reads the markdown first,
# where a line that starts with "+ " inside inline math would begin a list. The site puts each inline
# math ($...$) on one line, so that it reads as in Jupyter. Read left to right: escaped dollars and code
# spans are skipped, display math ($$...$$) is kept as it is.
MARKDOWN_MATH = re.compile(r"\\\$|`[^`]*`|\$\$.+?\$\$|\$[^$]+\$", re.DOTALL)


def inline_math_on_one_line(markdown: str) -> str:
    """``markdown`` with each inline math's line breaks replaced by spaces."""
    def join(found: re.Match) -> str:
        text = found.group(0)
        return " ".join(text.split("\n")) if text[0] == "$" and text[:2] != "$$" else text

    return MARKDOWN_MATH.sub(join, markdown)


def page_notebook(nb: nbformat.NotebookNode, source: Path, downloads: str) -> nbformat.NotebookNode:
    """The executed notebook as its page shows it: set-up and injected parameters removed, check cells
    collapsed, exercises as the homework copy has them (no solution, no hidden check), links at the top."""
    nb = copy.deepcopy(nb)
    nb.metadata.pop("widgets", None)  # widget state would make MyST-NB load ipywidgets from a CDN
    student = homework.student_copy(nb, source).cells[1:] if homework.grade_cells(nb) else None
    for index, cell in enumerate(nb.cells):
        tags = cell.metadata.setdefault("tags", [])
        if cell.cell_type == "markdown":
            cell.source = inline_math_on_one_line(cell.source)
        if {"injected-parameters", "setup-check"} & set(tags):
            tags.append("remove-cell")
        elif is_check_cell(cell):
            tags.append("hide-cell")
        if student is not None and homework.nbgrader_meta(cell):
            cell.source = student[index].source
            if cell.cell_type == "code":
                cell.outputs = []
        for output in cell.get("outputs", []):  # their text/plain stays: a bar's last line, the headline
            for machine_data in (WIDGET_VIEW, RESULT_MIME):
                output.get("data", {}).pop(machine_data, None)
        if cell.get("outputs"):  # a display emptied by an update (a live plot's placeholder) shows nothing
            cell.outputs = [o for o in cell.outputs if "data" not in o or any(o.data.values())]
    title = next(c for c in nb.cells if c.cell_type == "markdown")
    links = [f"[Open in Colab]({colab_url(source.name)})",
             f"{{download}}`Download the notebook <{downloads}/{source.name}>`"]
    if student is not None:
        links.append(f"{{download}}`Download its homework copy <{downloads}/homework/{source.name}>`")
    heading, _, rest = SITE_LINE.sub("", COLAB_LINE.sub("", title.source)).partition("\n")
    title.source = f"{heading}\n\n{' · '.join(links)}\n{rest}"
    return nb


def sphinx_config() -> dict[str, Any]:
    """Sphinx's configuration for the site (the generated conf.py reads it from here)."""
    spec = importlib.util.find_spec("sphinx-mathjax-offline")  # MathJax 3 from pip (a name with dashes)
    if spec is None or spec.origin is None:
        raise CourseError("The site needs the package sphinx-mathjax-offline (the tools extra): run  pip "
                          "install -c constraints.txt -e \".[tools]\"  in the course checkout.")
    mathjax = Path(spec.origin).parent / "static" / "mathjax" / "tex-svg.js"  # one file, fonts included
    return {
        "project": "Convolutional networks, part 2",
        "author": "the course authors",
        "extensions": ["myst_nb", "sphinx.ext.githubpages"],  # githubpages: .nojekyll, for a gh-pages branch
        "exclude_patterns": ["downloads/**"],
        "nb_execution_mode": "off",  # the outputs are the run's; nothing is executed here
        "myst_enable_extensions": ["dollarmath", "amsmath"],
        "html_theme": "sphinx_book_theme",
        "html_title": "Convolutional networks, part 2",
        "html_theme_options": {"repository_url": REPOSITORY, "use_repository_button": True,
                               "use_download_button": False, "use_fullscreen_button": False,
                               "show_toc_level": 2},
        "html_static_path": [str(mathjax)],
        "mathjax_path": mathjax.name,
        "html_copy_source": False,
        "html_show_sourcelink": False,
        "html_show_copyright": False,
        "html_last_updated_fmt": None,
        "html_favicon": FAVICON.name,  # a browser asks for one; without it, a 404 in its console
        "html_context": {"default_mode": "light"},  # the theme's script logs an error without a mode
    }


# The site's icon, written next to conf.py: a small blue square with a 3x3 grid, a convolution's kernel.
FAVICON = Path("favicon.svg")
FAVICON_SVG = ('<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 3 3">'
               '<rect width="3" height="3" fill="#1f5fa8"/>'
               '<path d="M1 0V3M2 0V3M0 1H3M0 2H3" stroke="#fff" stroke-width="0.12"/></svg>\n')
CONF_PY = "from helper.tools.site import sphinx_config\n\nglobals().update(sphinx_config())\n"


def build(executed: dict[Path, Path], out: Path, run: Run) -> None:
    """Write the site for ``executed`` (``{course notebook: its executed copy}``, in lecture order) into
    ``out``, replacing what is there."""
    sphinx_config()  # a missing package is said here in one sentence, not inside Sphinx's output
    with tempfile.TemporaryDirectory(prefix="site-", dir=out.parent) as scratch:
        src, html = Path(scratch) / "src", Path(scratch) / "html"
        (src / "downloads" / "homework").mkdir(parents=True)
        pages = []
        for source, copy_path in executed.items():
            nb = read_notebook(copy_path, remedy="run it again (make run NB=" + source.name[:2] + ")")
            nbformat.write(page_notebook(nb, source, "downloads"), src / source.name)
            shutil.copyfile(source, src / "downloads" / source.name)
            if homework.grade_cells(nb):
                nbformat.write(homework.student_copy(read_notebook(source), source),
                               src / "downloads" / "homework" / source.name)
            pages.append((source, title_of(nb)))
        (src / "index.md").write_text(home_page(pages, run), encoding="utf-8")
        (src / "conf.py").write_text(CONF_PY, encoding="utf-8")
        (src / FAVICON).write_text(FAVICON_SVG, encoding="utf-8")
        sphinx = subprocess.run([sys.executable, "-m", "sphinx", "-b", "html", "-q", "-E", "-d",
                                 str(Path(scratch) / "doctrees"), str(src), str(html)],
                                capture_output=True, text=True, cwd=REPO_ROOT,
                                env={**os.environ, "SOURCE_DATE_EPOCH": "0"})
        if sphinx.returncode != 0:
            raise CourseError(f"Sphinx could not build the site ({one_line(sphinx.stderr, 300)}).")
        if sphinx.stderr.strip():
            print(sphinx.stderr.strip(), file=sys.stderr)
        (html / ".buildinfo").unlink(missing_ok=True)
        if out.exists():
            shutil.rmtree(out)
        shutil.move(html, out)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m helper.tools site", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--build", type=Path, default=BUILD_DIR,
                        help="make run's folder of executed notebooks and results.md (default build)")
    parser.add_argument("--executed", type=Path,
                        help="take the notebooks (and results.md) in this folder as they are; run nothing")
    parser.add_argument("--out", type=Path, help="the site's folder (default: site/ in --build)")
    parser.add_argument("--link-notebooks", action="store_true",
                        help="write the site link into each notebook's title cell, and stop")
    args = parser.parse_args(argv)
    notebooks = lecture_notebooks(NOTEBOOK_DIR)
    try:
        if not notebooks:
            raise CourseError(f"There are no notebooks NN_name.ipynb in {NOTEBOOK_DIR} yet.")
        if args.link_notebooks:
            changed = link_notebooks(notebooks)
            print(f"The site link was written into {len(changed)} of {len(notebooks)} notebooks.")
            return 0
        out = args.out or args.build / "site"
        folder = args.executed or args.build
        if args.executed is None:
            runner.check_out(args.build, notebooks)
            run_missing(notebooks, args.build)
        executed = {p: folder / p.name for p in notebooks}
        missing = [str(p) for p in executed.values() if not p.is_file()]
        if missing:
            raise CourseError(f"There is no executed notebook {missing[0]}; leave out --executed to run it.")
        out.parent.mkdir(parents=True, exist_ok=True)
        build(executed, out, read_run(folder, list(executed.values()), here=args.executed is None))
    except CourseError as error:
        print(error, file=sys.stderr)
        return 2
    print(f"The site is in {out}: open {out / 'index.html'}, or publish the folder (README.md, Publishing).")
    return 0


if __name__ == "__main__":
    sys.exit(main())
