"""Every notebook runs in smoke mode, every check in the student copy fails on wrong answers, and no
exercise gives its answer away: not in a check's message for a wrong answer, not in the check's code.

For each notebook, one smoke-mode run of the instructor copy, with a probe cell after every check cell; it is
also the notebook's smoke test (it must run to the end and record its result). The probe reads the values
that exercise's solution cells assigned (the expected answers: the instructor's solution passes its
checks), then runs the check *as the student copy has it* (hidden tests removed, made by
``helper.tools.homework.student_copy``) with wrong answers of the same type in their place: each answer a
little too large, a little too small, far off, and each one alone. The messages of the failing checks, the
string constants and the arithmetic in the visible check code must not contain an expected answer: not the
number (``524288``, ``524,288``, ``0.1179`` for 0.11785, ``89.4%`` for 0.8937, ``350 M`` for 349,966,336),
not an expression that equals it (``32 x 64 x 16 x 16``, ``sqrt(2/144)``), not the string (``"relu(x)"``).

The same wrong answers must make the visible check fail wherever the instructor's check (with its hidden
tests) fails on them; an exercise with many right answers (any kernel that equals its own flip) may accept
some of them. Wrong by construction, and so always to be refused: every other choice a stub offers in
quotes (``# Which of "relu(x)", "x" or "zeros" ...``), and each function of a solution replaced by one that
ignores its task (returns its first argument unchanged, 0 or None), with each offered choice beside it.

Only answers that are values are looked for in messages (numbers, strings, short tuples of numbers). An
exercise whose answer is a function is checked on example inputs, and a message may show what the function
should return for the check's own input (unit-test feedback; it does not give the function away). Whole
numbers below 10 are too common in any sentence to look for alone; they count only after "should be",
"expected", "=" and the like.
"""

from __future__ import annotations

import ast
import json
import math
import re
import warnings
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import nbformat
import pytest
from conftest import course_notebook_params

from helper.results import read_result
from helper.tools import homework
from helper.tools.notebooks import Executed, execute

NOTEBOOKS = [p for p in course_notebook_params() if p.values[0] is None or homework.grade_cells(
    nbformat.read(p.values[0], as_version=4))]
MARKER = "EXERCISE-PROBE "
ADVICE = "say what is wrong (too large, wrong shape, check the stride), never the expected value"

# Runs in the notebook's kernel (first cell): records the answers, re-runs a check with wrong ones.
PROBE_LIBRARY = r'''
def _probe_exercise(grade_id, names, functions, choices, check_source, full_source):
    import contextlib, io, json, math, sys
    np, torch = sys.modules.get("numpy"), sys.modules.get("torch")
    g = globals()

    def encode(v):
        if isinstance(v, bool) or (np is not None and isinstance(v, np.bool_)):
            return None
        if torch is not None and isinstance(v, torch.Tensor):
            return encode(v.item()) if v.numel() == 1 else None
        if np is not None and isinstance(v, np.ndarray):
            return encode(v.item()) if v.size == 1 else None
        if isinstance(v, int) or (np is not None and isinstance(v, np.integer)):
            return {"kind": "int", "value": int(v), "repr": repr(v)}
        if isinstance(v, float) or (np is not None and isinstance(v, np.floating)):
            return {"kind": "float", "value": float(v), "repr": repr(v)} if math.isfinite(v) else None
        if isinstance(v, str):
            return {"kind": "str", "value": v, "repr": repr(v)}
        if isinstance(v, (tuple, list)) and 0 < len(v) <= 8 and all(encode(x) is not None and
                                                                  encode(x)["kind"] != "str" for x in v):
            return {"kind": "seq", "value": [encode(x)["value"] for x in v], "repr": repr(v)}
        return None

    def wrong(v, how):
        if isinstance(v, bool) or (np is not None and isinstance(v, np.bool_)):
            return not v
        if isinstance(v, str):
            return "zzz-wrong"
        if isinstance(v, (int, float)) or (np is not None and isinstance(v, (np.integer, np.floating))):
            if isinstance(v, int) or (np is not None and isinstance(v, np.integer)):
                new = {"up": v + 1, "down": v - 1, "far": 2 * v + 3}[how]
            else:
                new = {"up": v * 1.05 if v else 0.05, "down": v * 0.95 if v else -0.05,
                       "far": 2 * v + 0.5}[how]
            return type(v)(new)
        if isinstance(v, (tuple, list)) and encode(v) is not None:
            return type(v)(wrong(x, how) for x in v)
        if torch is not None and isinstance(v, torch.Tensor) and v.dtype != torch.bool:
            v = v.detach()
            return {"up": v + 1, "down": v - 1, "far": 2 * v + 3}[how]
        if np is not None and isinstance(v, np.ndarray) and v.dtype != bool:
            return {"up": v + 1, "down": v - 1, "far": 2 * v + 3}[how]
        return v

    def first_argument(*args, **kwargs):
        if not args:
            return 0
        x = args[0]
        return x.clone() if torch is not None and isinstance(x, torch.Tensor) else x

    # Functions that ignore their task: each must fail the check, whatever the other answers are.
    ignoring = {"returns its first argument unchanged": first_argument,
                "returns 0": lambda *args, **kwargs: 0, "returns None": lambda *args, **kwargs: None}

    saved = {n: g[n] for n in [*names, *functions] if n in g}
    answers = {n: e for n, e in ((n, encode(v)) for n, v in saved.items() if n in names) if e is not None}
    changeable = [n for n in names if n in saved and wrong(saved[n], "up") is not saved[n]]
    plans = [{n: h for n in changeable} for h in ("up", "down", "far")]
    if len(changeable) > 1:
        plans += [{n: h} for n in changeable for h in ("up", "down")]
    # (what is put in place of the answers, how to describe it, whether it is wrong whatever the grader says)
    variants = [({n: wrong(saved[n], h) for n, h in plan.items()}, None, False) for plan in plans]
    texts = [n for n in names if isinstance(saved.get(n), str)]
    variants += [({n: c}, None, True) for n in texts for c in choices if c != saved[n]]
    for f in functions:
        if not callable(saved.get(f)):
            continue
        for how, fake in ignoring.items():
            variants.append(({f: fake}, f"{f} {how}", True))
            variants += [({f: fake, n: c}, f"{f} {how}, {n} = {c!r}", True)
                         for n in texts for c in dict.fromkeys([*choices, "zzz-wrong"]) if c != saved[n]]

    def fails(source, variant):
        # the exception the check raised with ``variant`` in place of the answers, or None when it passed
        g.update(variant)
        try:
            with contextlib.redirect_stdout(io.StringIO()):
                exec(compile(source, f"<{grade_id}>", "exec"), g)
        except Exception as error:
            return error
        finally:
            g.update(saved)
        return None

    messages, lenient, seen = [], [], set()
    report = {"grade_id": grade_id, "answers": answers, "messages": messages, "lenient": lenient}
    try:
        for variant, described, always_wrong in variants:
            described = described or ", ".join(f"{n} = {v!r}" for n, v in variant.items())
            if not variant or described in seen:
                continue
            seen.add(described)
            error = fails(check_source, variant)
            if error is not None:  # the check failed, as it should: keep what it said
                messages.append({"wrong": {n: encode(v) for n, v in variant.items()},
                                 "error": type(error).__name__, "message": str(error)})
            elif always_wrong or fails(full_source, variant) is not None:
                lenient.append(described)
    finally:
        g.update(saved)
        try:  # leave the state as the real check left it, for the cells below
            with contextlib.redirect_stdout(io.StringIO()):
                exec(compile(check_source, f"<{grade_id}>", "exec"), g)
        except Exception:
            pass
    print("EXERCISE-PROBE " + json.dumps(report))
'''


# --- what the solution cells assign ---------------------------------------------------------------

def assigned_names(source: str) -> list[str]:
    """Names a cell binds at its top level (assignments, for/with targets), not the functions it defines."""
    names: list[str] = []

    def add(target: ast.AST) -> None:
        if isinstance(target, ast.Name) and target.id not in names:
            names.append(target.id)
        elif isinstance(target, (ast.Tuple, ast.List)):
            for element in target.elts:
                add(element)
        elif isinstance(target, ast.Starred):
            add(target.value)

    def visit(body: list[ast.stmt]) -> None:
        for node in body:
            if isinstance(node, ast.Assign):
                for target in node.targets:
                    add(target)
            elif isinstance(node, (ast.AnnAssign, ast.AugAssign)):
                add(node.target)
            elif isinstance(node, (ast.For, ast.AsyncFor)):
                add(node.target)
                visit(node.body + node.orelse)
            elif isinstance(node, (ast.With, ast.AsyncWith)):
                for item in node.items:
                    if item.optional_vars is not None:
                        add(item.optional_vars)
                visit(node.body)
            elif isinstance(node, (ast.If, ast.While)):
                visit(node.body + node.orelse)
            elif isinstance(node, ast.Try):
                visit(node.body + node.orelse + node.finalbody)
                for handler in node.handlers:
                    visit(handler.body)

    visit(ast.parse(source).body)
    return names


def defined_functions(source: str) -> list[str]:
    """Names of the functions a cell defines at its top level."""
    return [node.name for node in ast.parse(source).body if isinstance(node, ast.FunctionDef)]


def offered_choices(source: str) -> list[str]:
    """The strings a solution cell offers in quotes in its comments outside the markers (``# "x" or "y"``)."""
    public = re.sub(r"### BEGIN SOLUTION.*?### END SOLUTION", "", source, flags=re.S)
    comments = [line.split("#", 1)[1] for line in public.splitlines() if "#" in line]
    return [choice for line in comments for choice in re.findall(r'"([^"]{1,40})"', line)]


def probed_notebook(path: Path) -> tuple[nbformat.NotebookNode, dict[str, str]]:
    """The instructor notebook with a probe after each check cell, and each check's student-copy source."""
    instructor = nbformat.read(path, as_version=4)
    # a notebook still without exercises gets no probes (tests/test_notebooks.py asks for its exercises)
    student = homework.student_copy(instructor, path) if homework.grade_cells(instructor) else instructor
    visible = {homework.nbgrader_meta(c)["grade_id"]: c.source for c in homework.grade_cells(student)}
    names: dict[str, list[str]] = {}
    functions: dict[str, list[str]] = {}
    choices: dict[str, list[str]] = {}
    for cell in instructor.cells:
        meta = homework.nbgrader_meta(cell)
        if cell.cell_type == "code" and meta.get("solution"):
            exercise = homework.exercise_of(meta["grade_id"])
            for found, new in ((names, assigned_names(cell.source)),
                               (functions, defined_functions(cell.source)),
                               (choices, offered_choices(cell.source))):
                known = found.setdefault(exercise, [])
                known.extend(n for n in new if n not in known)
    probed = nbformat.v4.new_notebook(metadata=instructor.metadata)
    probed.cells.append(nbformat.v4.new_code_cell(PROBE_LIBRARY))
    for cell in instructor.cells:
        probed.cells.append(cell)
        meta = homework.nbgrader_meta(cell)
        if cell.cell_type == "code" and meta.get("grade"):
            grade_id = meta["grade_id"]
            exercise = homework.exercise_of(grade_id)
            call = (f"_probe_exercise({grade_id!r}, {names.get(exercise, [])!r}, "
                    f"{functions.get(exercise, [])!r}, {choices.get(exercise, [])!r}, {visible[grade_id]!r}, "
                    f"{cell.source!r})")
            probed.cells.append(nbformat.v4.new_code_cell(call))
    return probed, visible


# --- does a text or a piece of code contain an answer? ---------------------------------------------

SCALES = {"%": 0.01, "k": 1e3, "K": 1e3, "M": 1e6, "million": 1e6, "G": 1e9, "billion": 1e9}
NUMBER = re.compile(r"(?<![\w.])(-?(?:\d{1,3}(?:,\d{3})+|\d+(?:_\d{3})*)(?:\.\d+)?(?:[eE][-+]?\d+)?|-?\.\d+)"
                    r"(?:\s?(%|k|K|M|G|million|billion)(?!\w))?(?![\w])")
EXPRESSION = re.compile(r"[\d\s.()+\-*/^√]+")
SAYS_IT_IS = r"(?:should be|must be|should equal|expected|equals?|answer is|is exactly|=)\s*"


@dataclass
class Token:
    """A number as written in a text: its value, how finely it is written, and its significant digits."""

    text: str
    value: float
    step: float  # the unit of its last written digit, scaled
    digits: int
    whole: bool  # written without a fractional part or exponent

    @classmethod
    def parse(cls, written: str, text: str, unit: str | None) -> Token:
        plain = text.replace(",", "").replace("_", "")
        mantissa, _, exponent = plain.lower().partition("e")
        decimals = len(mantissa.partition(".")[2])
        scale = SCALES.get(unit or "", 1.0)
        significant = mantissa.lstrip("-").replace(".", "").lstrip("0")
        return cls(written, float(plain) * scale, 10.0 ** (int(exponent or 0) - decimals) * scale,
                   max(len(significant), 1), "." not in mantissa and not exponent and unit is None)


def tokens(text: str) -> list[Token]:
    return [Token.parse(m.group(0), m.group(1), m.group(2)) for m in NUMBER.finditer(text)]


def within(token: Token, value: float) -> bool:
    """Whether ``value`` rounds to ``token`` at the precision it is written with."""
    return abs(token.value - value) <= 0.5 * token.step * (1 + 1e-9)


def token_is(token: Token, answer: dict[str, Any]) -> bool:
    """Whether ``token`` writes the numeric ``answer`` (to the precision it is written with)."""
    value = answer["value"]
    if answer["kind"] == "int":
        if token.whole:
            return abs(value) >= 10 and token.value == value
        return abs(value) >= 10 and token.digits >= 2 and within(token, value)
    if answer["kind"] != "float" or value == 0:
        return False
    if token.digits < 2 or (token.digits == 2 and float(value).is_integer()):
        return False
    return within(token, value)


def small_int_said(text: str, value: int) -> str | None:
    match = re.search(SAYS_IT_IS + rf"(?<![\w.]){value}(?![\w.])", text)
    return match.group(0) if match else None


def safe_eval(expression: str) -> float | None:
    """The value of an arithmetic expression written in a message (``32 x 64``, ``sqrt(2/144)``), or None."""
    source = expression.replace("^", "**").replace("√", "sqrt")
    try:
        with warnings.catch_warnings():  # "2 (3)" parses, with a SyntaxWarning; the checks below refuse it
            warnings.simplefilter("ignore", SyntaxWarning)
            tree = ast.parse(source, mode="eval")
    except SyntaxError:
        return None
    allowed = (ast.Expression, ast.BinOp, ast.UnaryOp, ast.Constant, ast.operator, ast.unaryop, ast.Call,
               ast.Name, ast.Load)
    for node in ast.walk(tree):
        if not isinstance(node, allowed) or isinstance(node, ast.Name) and node.id != "sqrt":
            return None
        if isinstance(node, ast.Constant) and not isinstance(node.value, (int, float)):
            return None
        if isinstance(node, ast.Call) and not (isinstance(node.func, ast.Name) and len(node.args) == 1):
            return None  # only sqrt(...) is a call
        if isinstance(node, ast.BinOp) and isinstance(node.op, ast.Pow) and not (
                isinstance(node.right, ast.Constant) and abs(node.right.value) <= 64):
            return None
    if not any(isinstance(node, (ast.BinOp, ast.Call)) for node in ast.walk(tree)):
        return None  # a plain number: the token rules judge it
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", SyntaxWarning)
            value = eval(compile(tree, "<message>", "eval"), {"__builtins__": {}, "sqrt": math.sqrt})
    except (ArithmeticError, TypeError, ValueError):
        return None
    return float(value) if isinstance(value, (int, float)) else None


def expressions(text: str) -> list[tuple[str, float]]:
    """Arithmetic written in a text, with its value: ``16 x 3 x 3`` -> 144.0."""
    text = text.replace(" x ", " * ").replace("×", "*").replace("sqrt", "√")
    found = []
    for match in EXPRESSION.finditer(text):
        candidate = match.group(0).strip().rstrip("+-*/^. ").lstrip("+*/^ ")
        while candidate.count("(") > candidate.count(")") and candidate.startswith("("):
            candidate = candidate[1:]
        while candidate.count(")") > candidate.count("(") and candidate.endswith(")"):
            candidate = candidate[:-1]
        if re.search(r"\d", candidate) and (value := safe_eval(candidate)) is not None:
            found.append((candidate, value))
    return found


def value_is(value: float, answer: dict[str, Any]) -> bool:
    """Whether an exactly computed ``value`` equals the numeric ``answer``."""
    if answer["kind"] == "int":
        return abs(answer["value"]) >= 10 and value == answer["value"]
    return (answer["kind"] == "float" and answer["value"] != 0
            and math.isclose(value, answer["value"], rel_tol=1e-9))


def renderings(answer: dict[str, Any]) -> list[str]:
    """How a tuple answer may be written: (8, 15), [8, 15], 8x15, 8 x 15."""
    parts = [str(v) for v in answer["value"]]
    return [f"({', '.join(parts)})", f"[{', '.join(parts)}]", "x".join(parts), " x ".join(parts),
            "×".join(parts)]


def mentions(text: str, answer: dict[str, Any], wrong: dict[str, Any] | None = None) -> str | None:
    """The part of ``text`` that gives ``answer`` away, or None; what only writes ``wrong`` does not count."""
    kind, value = answer["kind"], answer["value"]
    if kind == "str":
        if wrong is not None and wrong["kind"] == "str":
            text = text.replace(wrong["repr"], "").replace(wrong["value"], "")
        if len(value.strip()) < 2:
            return None
        match = re.search(rf"(?<!\w){re.escape(value)}(?!\w)", text, flags=re.I)
        return match.group(0) if match else None
    if kind == "seq":
        ruled_out = renderings(wrong) if wrong is not None and wrong["kind"] == "seq" else []
        return next((r for r in renderings(answer) if r in text and r not in ruled_out), None)
    if kind == "int" and abs(value) < 10:
        return small_int_said(text, value)
    for token in tokens(text):
        if token_is(token, answer) and not (wrong is not None and token_is(token, wrong)):
            return token.text
    for written, computed in expressions(text):
        if value_is(computed, answer) and not (wrong is not None and value_is(computed, wrong)):
            return written
    return None


CODE_NAMES = {"math": math, "abs": abs, "round": round, "int": int, "float": float, "pow": pow, "min": min,
              "max": max, "sum": sum, "len": len}


def code_gives_away(source: str, answer: dict[str, Any]) -> str | None:
    """The piece of a check's code that spells out ``answer``: a literal, or arithmetic of literals."""
    tree = ast.parse(source)
    for node in ast.walk(tree):
        segment = ast.get_source_segment(source, node) or ""
        if isinstance(node, ast.Constant) and isinstance(node.value, str):
            inside = node.value.strip().lower()
            if answer["kind"] == "str" and len(inside) >= 2 and inside == answer["value"].strip().lower():
                return segment
            if (said := mentions(node.value, answer)) is not None:
                return f"{said!r} in the text {node.value.strip()!r}"
            continue
        if isinstance(node, ast.Constant) and isinstance(node.value, (int, float)) and not isinstance(
                node.value, bool):
            if answer["kind"] in ("int", "float") and any(token_is(t, answer) for t in tokens(segment)):
                return segment
            continue
        if not isinstance(node, (ast.BinOp, ast.UnaryOp, ast.Call, ast.Tuple, ast.List)):
            continue
        used = {n.id for n in ast.walk(node) if isinstance(n, ast.Name)}
        if not used <= set(CODE_NAMES) or any(isinstance(n, (ast.Lambda, ast.Subscript))
                                               for n in ast.walk(node)):
            continue
        if any(isinstance(n, ast.BinOp) and isinstance(n.op, ast.Pow) and not (
                isinstance(n.right, ast.Constant) and abs(n.right.value) <= 64) for n in ast.walk(node)):
            continue
        try:
            value = eval(compile(ast.Expression(node), "<check>", "eval"),
                         {"__builtins__": {}, **CODE_NAMES})
        except Exception:  # noqa: BLE001 - code that needs more than literals is not arithmetic of literals
            continue
        if answer["kind"] == "seq" and isinstance(value, (tuple, list)) and list(value) == answer["value"]:
            return segment
        if isinstance(value, (int, float)) and not isinstance(value, bool) and value_is(float(value), answer):
            return segment
    return None


# --- the test ------------------------------------------------------------------------------------------

def probe_reports(executed: nbformat.NotebookNode) -> list[dict[str, Any]]:
    """What each probe cell printed, in notebook order."""
    reports = []
    for cell in executed.cells:
        printed = "".join(o.get("text", "") for o in cell.get("outputs", []) if o.output_type == "stream")
        reports += [json.loads(line.removeprefix(MARKER)) for line in printed.splitlines()
                    if line.startswith(MARKER)]
    return reports


def leaks(report: dict[str, Any], visible_source: str) -> list[str]:
    """One sentence per way the check ``report`` describes gives an answer away."""
    found = []
    grade_id = report["grade_id"]
    for name, answer in report["answers"].items():
        shown = f"`{name} = {answer['repr']}`"
        for failure in report["messages"]:
            said = mentions(failure["message"], answer, (failure["wrong"] or {}).get(name))
            if said is not None:
                wrong = ", ".join(f"{n} = {w['repr']}" for n, w in failure["wrong"].items() if w)
                found.append(f"{grade_id}: with the wrong answer {wrong} its message says {said!r}, which "
                             f"gives away {shown}: {failure['message']!r}")
                break
        if (spelled := code_gives_away(visible_source, answer)) is not None:
            found.append(f"{grade_id}: the check's code, which students see, spells out {shown} as {spelled}")
    return found


@pytest.fixture(scope="module")
def smoke_run(tmp_path_factory) -> Callable[[Path], tuple[Executed, dict[str, str]]]:
    """``smoke_run(path)``: the probed notebook's smoke run and its checks' visible sources, made once for
    both tests below (the executed copies are in a temporary folder, to look at when a test fails)."""
    folder = tmp_path_factory.mktemp("probed")
    runs: dict[Path, tuple[Executed, dict[str, str]]] = {}

    def run(path: Path) -> tuple[Executed, dict[str, str]]:
        if path not in runs:
            probed, visible = probed_notebook(path)
            target = folder / path.name
            nbformat.write(probed, target)
            runs[path] = (execute(target, "smoke", allow_errors=True, output=target), visible)
        return runs[path]

    return run


def unexpected_errors(run: Executed) -> list[str]:
    """The errors of the run, except in cells tagged raises-exception (they show an error on purpose)."""
    return [f"cell {i}: {ename}: {evalue}" for i, (ename, evalue) in sorted(run.errors.items())
            if "raises-exception" not in run.nb.cells[i].metadata.get("tags", [])]


@pytest.mark.notebook
@pytest.mark.parametrize("path", course_notebook_params())
def test_runs_in_smoke_mode(path, smoke_run):
    run, _ = smoke_run(path)
    failed = unexpected_errors(run)
    assert not failed, f"{path.name} should run in smoke mode with its solutions, but {'; '.join(failed)}"
    assert read_result(run.nb).get("headline"), f"{path.name} should call results.record_result"


@pytest.mark.notebook
@pytest.mark.parametrize("path", NOTEBOOKS)
def test_no_check_gives_its_answer_away(path, smoke_run):
    run, visible = smoke_run(path)
    assert not unexpected_errors(run), f"{path.name} does not run in smoke mode: see test_runs_in_smoke_mode"
    reports = probe_reports(run.nb)
    assert {r["grade_id"] for r in reports} == set(visible), (
        f"{path.name}: the probes reported on {sorted(r['grade_id'] for r in reports)}, not on every check "
        f"{sorted(visible)}")
    problems = [problem for r in reports for problem in leaks(r, visible[r["grade_id"]])]
    assert not problems, f"{path.name}: a check gives its answer away ({ADVICE}):\n- " + "\n- ".join(problems)


@pytest.mark.notebook
@pytest.mark.parametrize("path", NOTEBOOKS)
def test_every_check_fails_on_wrong_answers(path, smoke_run):
    run, visible = smoke_run(path)
    assert not unexpected_errors(run), f"{path.name} does not run in smoke mode: see test_runs_in_smoke_mode"
    passed = [f"{r['grade_id']} passes with {wrong}" for r in probe_reports(run.nb) for wrong in r["lenient"]]
    assert not passed, (f"{path.name}: a check in the student copy passes a wrong answer (compare with a "
                        "property, an independent computation or exercises.digest of the answer):\n- "
                        + "\n- ".join(passed))


@pytest.mark.notebook
@pytest.mark.parametrize("path", NOTEBOOKS)
def test_every_check_prints_one_line_when_it_passes(path, smoke_run):
    run, _ = smoke_run(path)
    assert not unexpected_errors(run), f"{path.name} does not run in smoke mode: see test_runs_in_smoke_mode"
    printed = {homework.nbgrader_meta(c)["grade_id"]: "".join(o.get("text", "") for o in c.get("outputs", [])
                                                              if o.output_type == "stream")
               for c in homework.grade_cells(run.nb)}
    wrong = {grade_id: text for grade_id, text in printed.items() if len(text.splitlines()) != 1}
    assert not wrong, f"{path.name}: each check should print one line when it passes, not {wrong}"


# --- the detector itself, on small cases -------------------------------------------------------------

INT = {"kind": "int", "value": 524288, "repr": "524288"}
STD = {"kind": "float", "value": math.sqrt(2 / 144), "repr": repr(math.sqrt(2 / 144))}


@pytest.mark.parametrize(("text", "answer", "expected"), [
    ("32 x 64 x 16 x 16 = 524288 — got 1", INT, "524288"),
    ("that is 524,288 decisions", INT, "524,288"),
    ("32 x 64 x 16 x 16 decisions, got 7", INT, "32 * 64 * 16 * 16"),
    ("so the std is sqrt(2/144) - got 0.2", STD, "√(2/144)"),
    ("the std should be about 0.1179", STD, "0.1179"),
    ("the std is 0.12 here", STD, "0.12"),
    ("fc_share is 89.4% of it", {"kind": "float", "value": 0.8937, "repr": "0.8937"}, "89.4%"),
    ("the saving is 350 M MACs", {"kind": "int", "value": 349_966_336, "repr": ""}, "350 M"),
    ("the block should return relu(x)", {"kind": "str", "value": "relu(x)", "repr": "'relu(x)'"}, "relu(x)"),
    ("the map should be (8, 15)", {"kind": "seq", "value": [8, 15], "repr": "(8, 15)"}, "(8, 15)"),
    ("padding should be 4 here", {"kind": "int", "value": 4, "repr": "4"}, "should be 4"),
])
def test_mentions_finds_an_answer(text, answer, expected):
    assert mentions(text, answer) == expected


@pytest.mark.parametrize(("text", "answer", "wrong"), [
    ("decisions_dropout is too large: check which axes", INT, None),
    ("a 3x3 kernel with padding 4 on 64 pixels", {"kind": "int", "value": 4, "repr": "4"}, None),
    ("got 0.12: too large, use the fan-out", STD, {"kind": "float", "value": 0.1237, "repr": "0.1237"}),
    ("for a 16x16 map with 524289 entries", INT, None),
    ("ResNet-50 v1.5 has 3.0 times", {"kind": "float", "value": 3.0, "repr": "3.0"}, None),
    ("'zzz-wrong' is not a network name", {"kind": "str", "value": "VGG-16", "repr": "'VGG-16'"},
     {"kind": "str", "value": "zzz-wrong", "repr": "'zzz-wrong'"}),
])
def test_mentions_ignores_what_is_not_the_answer(text, answer, wrong):
    assert mentions(text, answer, wrong) is None


def test_code_gives_away_literals_and_their_arithmetic():
    assert code_gives_away("assert x == 524288, 'too large'", INT) == "524288"
    assert code_gives_away("expected = math.sqrt(2 / 144)\nassert x == expected", STD) == "math.sqrt(2 / 144)"
    assert code_gives_away("assert answer == 'relu(x)'", {"kind": "str", "value": "relu(x)", "repr": ""})
    assert code_gives_away("n = shape[0] * shape[1]\nassert x == n, 'too small'", INT) is None


def test_assigned_names_skips_functions():
    source = "def f(x):\n    return x\n\n\na, (b, c) = 1, (2, 3)\nfor i in range(2):\n    d = i\nanswer = 'x'"
    assert assigned_names(source) == ["a", "b", "c", "i", "d", "answer"]
