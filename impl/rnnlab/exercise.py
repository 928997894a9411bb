"""Learner exercises: the reference code's exercise regions, stubbed out in a copy.

Every function a lab asks the learner to write is marked in the reference code with a line
``# region exercise <id>`` before its body and ``# endregion`` after it (``<id>`` such as
``lab02.lstm_cell``; the markers are only recognised as whole comment lines in code).

``rnnlab exercise init DIR`` writes a complete copy of the package to ``DIR/rnnlab`` with each
region's body replaced by ``raise NotImplementedError("...")  # stub: <id>``, the message
stating the function's contract, and leaves the fast kernels out (they spell out every
cell's equations). The specs then run against the copy (``pytest spec --impl DIR``,
``tox -e spec -- --impl DIR`` or ``RNNLAB_IMPL=DIR``), ``rnnlab exercise status DIR`` prints
progress in curriculum order, and ``RNNLAB_IMPL=DIR tox -e acceptance`` trains the copy.
"""

from __future__ import annotations

import ast
import contextlib
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from rnnlab.errors import ConfigError, RnnlabError
from rnnlab.files import atomic_write, os_reason

PACKAGE_DIR = Path(__file__).resolve().parent
REGION_START = re.compile(r"^(?P<indent>[ \t]*)# region exercise (?P<id>[\w.]+)\s*$")
REGION_END = re.compile(r"^[ \t]*# endregion\s*$")
STUB_TAG = re.compile(r"# stub: (?P<id>[\w.]+)\s*$")  # ends every stub line; gone once the learner replaces it


@dataclass(frozen=True)
class Exercise:
    id: str  # region id, e.g. "lab02.lstm_cell"
    number: str  # "Lab 02.1"
    title: str
    task: str  # the equation or behaviour to implement
    spec: str  # the spec file that checks it
    depends: tuple[str, ...] = ()  # exercises whose code its specs also run

    @property
    def marker(self) -> str:
        return self.id.replace(".", "_")


# Curriculum order. `depends` is what a learner must have finished for this task's specs to run.
EXERCISES: tuple[Exercise, ...] = (
    Exercise(
        "lab01.rnn_cell",
        "Lab 01.1",
        "RNN cell",
        "h_t = tanh(W_ih x_t + b_ih + W_hh h_{t-1} + b_hh); step() gets x_proj = W_ih x_t + b_ih",
        "spec/lab01/test_rnn_cell.py",
    ),
    Exercise(
        "lab01.unroll",
        "Lab 01.2",
        "unrolling over time",
        "project all inputs once, loop t = 0..T-1 carrying the state, stack the outputs; a False mask step keeps the state",
        "spec/lab01/test_unroll.py",
        ("lab01.rnn_cell",),
    ),
    Exercise(
        "lab01.tbptt",
        "Lab 01.3",
        "truncated BPTT (detaching the carried state)",
        "return the state's values without their autograd history (Tensor.detach), for a tensor, an LSTMState "
        "(h, c) or a stack's tuple of them: rnnlab.recurrent.map_state reaches every tensor of a nested state",
        "spec/lab01/test_tbptt.py",
        ("lab01.rnn_cell", "lab01.unroll"),
    ),
    Exercise(
        "lab01.clipping",
        "Lab 01.4",
        "gradient clipping by global norm",
        "norm = sqrt(sum ||g||^2); if norm > max_norm scale every g by max_norm / (norm + 1e-6); return norm",
        "spec/lab01/test_clipping.py",
    ),
    Exercise(
        "lab01.perplexity",
        "Lab 01.5",
        "perplexity",
        "perplexity = exp(mean cross-entropy)",
        "spec/lab01/test_perplexity.py",
        ("lab01.rnn_cell", "lab01.unroll", "lab01.tbptt"),
    ),
    Exercise(
        "lab01.sampling",
        "Lab 01.6",
        "temperature sampling",
        "T = 0: argmax; T > 0: draw from softmax(logits / T) with the given generator",
        "spec/lab01/test_sampling.py",
        ("lab01.rnn_cell", "lab01.unroll"),
    ),
    Exercise(
        "lab02.lstm_cell",
        "Lab 02.1",
        "LSTM cell",
        "[i, f, g, o] = x_proj + W_hh h + b_hh; c_t = sigmoid(f) c + sigmoid(i) tanh(g); h_t = sigmoid(o) tanh(c_t)",
        "spec/lab02/test_lstm_cell.py",
        ("lab01.unroll", "lab01.rnn_cell"),
    ),
    Exercise(
        "lab02.gru_cell",
        "Lab 02.2",
        "GRU cell",
        "r, z = sigmoid(...); n = tanh(x_n + r * (W_hn h + b_hn)); h_t = (1 - z) n + z h",
        "spec/lab02/test_gru_cell.py",
        ("lab01.unroll", "lab01.rnn_cell"),
    ),
    Exercise(
        "lab02.grad_flow",
        "Lab 02.3",
        "gradient norms through time",
        "step the cell keeping every h_t, take L_T at the last step, autograd.grad w.r.t. every h_t, mean row norm",
        "spec/lab02/test_grad_flow.py",
        ("lab01.rnn_cell", "lab02.lstm_cell"),
    ),
    Exercise(
        "lab03.dates",
        "Lab 03.1",
        "rendering dates",
        "write each family's pieces with _Builder.add(text, field) so the year/month/day spans are recorded",
        "spec/lab03/test_dates.py",
    ),
    Exercise(
        "lab03.attention",
        "Lab 03.2",
        "attention",
        "masked softmax (-inf at padding); additive v^T tanh(W_s s + W_h h_j); dot s^T h_j (/ sqrt(D) if scaled)",
        "spec/lab03/test_attention.py",
    ),
    Exercise(
        "lab03.seq2seq",
        "Lab 03.3",
        "decoder step, teacher forcing, scheduled sampling",
        "context (fixed or attention) -> GRU on [emb; context] -> logits from [s; context; emb]; "
        "feed gold with probability = teacher-forcing ratio; the ratio decays linearly",
        "spec/lab03/test_seq2seq.py",
        ("lab01.rnn_cell", "lab01.unroll", "lab01.clipping", "lab02.gru_cell", "lab03.dates", "lab03.attention"),
    ),
)
BY_ID = {e.id: e for e in EXERCISES}


@dataclass(frozen=True)
class Topic:
    """A group of specs that checks reference code a learner does not write (no number: not an exercise)."""

    marker: str
    lab: str
    title: str
    spec: str
    code: str


TOPICS: tuple[Topic, ...] = (
    Topic("lab01_corpus", "lab01", "the corpus: fetch, verify, split", "spec/lab01/test_corpus.py", "data/text.py"),
    Topic("lab01_vocab", "lab01", "the character vocabulary", "spec/lab01/test_vocab.py", "data/text.py"),
    Topic(
        "lab01_charlm",
        "lab01",
        "the character LM end to end: train, checkpoint, load, sample, CLI",
        "spec/lab01/test_charlm.py",
        "models/charlm.py, training/lm.py, cli/commands.py",
    ),
    Topic(
        "lab02_layers",
        "lab02",
        "stacked and bidirectional layers, parity with nn.LSTM",
        "spec/lab02/test_layers.py",
        "recurrent.py",
    ),
    Topic(
        "lab02_context",
        "lab02",
        "how much of the past a model uses: loss against context length, what an earlier copy is worth",
        "spec/lab02/test_context.py",
        "metrics.py",
    ),
    Topic(
        "lab02_gates",
        "lab02",
        "what the gates do on real text: traces, saturation, a unit named by measurement",
        "spec/lab02/test_gates.py",
        "gates.py",
    ),
    Topic(
        "lab02_attention_lm",
        "lab02",
        "the bridge to transformers: a causal self-attention LM from tensor ops",
        "spec/lab02/test_attention_lm.py",
        "models/attention_lm.py",
    ),
    Topic(
        "lab02_fast",
        "lab02",
        "the fast path: hand-written BPTT equals the plain loop",
        "spec/lab02/test_fast_path.py",
        "fast/",
    ),
    Topic(
        "lab03_exposure",
        "lab03",
        "teacher forcing measured: accuracy fed the gold prefix against fed its own",
        "spec/lab03/test_exposure.py",
        "training/seq2seq.py",
    ),
)


def marker_lines() -> list[str]:
    """pytest's marker descriptions for every spec group (registered by spec/conftest.py)."""
    return [f"{e.marker}: {e.number} — {e.title} (exercise)" for e in EXERCISES] + [
        f"{t.marker}: {t.lab.replace('lab', 'Lab ')} — {t.title} (reference code, not an exercise)" for t in TOPICS
    ]


def spec_table(lab: str) -> str:
    """The README's table of one lab's spec groups: exercises (numbered) and reference topics."""
    rows = ["| exercise | what | marker | spec | code |", "| --- | --- | --- | --- | --- |"]
    for e in EXERCISES:
        if e.id.startswith(lab + "."):
            rows.append(f"| {e.number} | {e.title} | `{e.marker}` | `{e.spec}` | {_code(where(e))} |")
    for t in TOPICS:
        if t.lab == lab:
            code = ", ".join(f"`rnnlab/{c.strip()}`" for c in t.code.split(","))
            rows.append(f"| reference | {t.title} | `{t.marker}` | `{t.spec}` | {code} |")
    return "\n".join(rows)


def learner_table() -> str:
    """The README's table of the exercises in curriculum order."""
    rows = ["| exercise | what | where you write it | finish first |", "| --- | --- | --- | --- |"]
    for e in EXERCISES:
        needs = ", ".join(BY_ID[d].number.removeprefix("Lab ") for d in e.depends) or "—"
        rows.append(f"| {e.number} | {e.title} (`{e.marker}`) | {_code(where(e))} | {needs} |")
    return "\n".join(rows)


def _code(places: str) -> str:
    return "; ".join(f"`{p.strip()}`" for p in places.split(";"))


GENERATED = re.compile(r"(<!-- generated: (?P<what>[\w ]+) -->\n)(?P<body>.*?)(\n<!-- end generated -->)", re.S)


def render_readme(text: str) -> str:
    """``text`` (the README) with every generated block rebuilt from the lists above."""

    def block(found: re.Match[str]) -> str:
        what = found["what"].split()
        body = learner_table() if what == ["exercises"] else spec_table(what[1])
        return found.group(1) + body + found.group(4)

    return GENERATED.sub(block, text)


def find_regions(package_dir: Path = PACKAGE_DIR) -> dict[str, list[tuple[Path, int, int]]]:
    """Exercise id -> [(file relative to the package, first body line, end line)] (0-based, end exclusive)."""
    regions: dict[str, list[tuple[Path, int, int]]] = {}
    for path in sorted(package_dir.rglob("*.py")):
        lines = path.read_text(encoding="utf-8").splitlines()
        start = None
        for i, line in enumerate(lines):
            match = REGION_START.match(line)
            if match:
                start, rid = i, match["id"]
            elif REGION_END.match(line) and start is not None:
                regions.setdefault(rid, []).append((path.relative_to(package_dir), start + 1, i))
                start = None
    return regions


def main(argv: list[str] | None = None) -> int:
    """``python -m rnnlab.exercise README.md``: rebuild the README's generated tables in place."""
    args = sys.argv[1:] if argv is None else argv
    path = Path(args[0] if args else "README.md")
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:  # missing, a folder, unreadable, not UTF-8 (#35)
        why = "not UTF-8 text" if isinstance(exc, UnicodeDecodeError) else (exc.strerror or str(exc)).lower()
        print(f"python -m rnnlab.exercise: cannot read {path}: {why}; give the README to rebuild", file=sys.stderr)
        return 2
    if not GENERATED.search(text):
        print(f"python -m rnnlab.exercise: {path} has no generated tables (<!-- generated: ... -->); nothing rebuilt")
        return 1
    rebuilt = render_readme(text)
    if rebuilt == text:
        print(f"the generated tables in {path} are up to date")
        return 0
    atomic_write(path, rebuilt.encode("utf-8"))
    print(f"rebuilt the generated tables in {path}")
    return 0


def _summaries(source: str) -> dict[str, str]:
    """Each function's qualified name (``LSTMCell.step``) -> the first line of its docstring."""
    found: dict[str, str] = {}

    def visit(node: ast.AST, prefix: str) -> None:
        for child in ast.iter_child_nodes(node):
            if isinstance(child, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
                name = prefix + child.name
                doc = ast.get_docstring(child)
                if doc and not isinstance(child, ast.ClassDef):
                    found[name] = " ".join(doc.strip().split("\n\n")[0].split()).rstrip(".")
                visit(child, name + ".")

    visit(ast.parse(source), "")
    return found


def stub_line(exercise: Exercise, indent: str, function: str = "", copy: str = "DIR", rule: str = "") -> str:
    """The line that replaces a region's body: one message per function, naming it, its rule
    (``rule``, for an exercise of several functions; else the exercise's), where its contract
    is (the function's docstring, just above) and how to check it."""
    where_ = f" ({function})" if function else ""
    message = (
        f"not yet implemented: {exercise.number} — {exercise.title}{where_}: {rule or exercise.task}. "
        f"Inputs, outputs and shapes: the docstring above. Check: rnnlab exercise status {copy} {exercise.id}"
    )
    return f"{indent}raise NotImplementedError({message!r})  # stub: {exercise.id}"


def stubbed(impl_dir: str | os.PathLike[str]) -> list[str]:
    """The exercises whose stub is still in the copy at ``impl_dir`` (curriculum order): a
    stub left in place raises, so nothing of that exercise can have been done."""
    found: set[str] = set()
    for path in (Path(impl_dir) / "rnnlab").rglob("*.py"):
        for line in path.read_text(encoding="utf-8").splitlines():
            tag = STUB_TAG.search(line)
            if tag and "NotImplementedError" in line:
                found.add(tag["id"])
    return [e.id for e in EXERCISES if e.id in found]


class ExerciseError(RnnlabError, RuntimeError):
    """A learner's copy cannot be written, or its specs cannot run; the message says why and what to do."""


def init(dest: str | os.PathLike[str], keep: set[str] | frozenset[str] = frozenset()) -> Path:
    """Write the package to ``dest/rnnlab`` with every region stubbed, except those in ``keep``.
    A copy that cannot be written (a file in the way, a read-only place, a full disk) is one
    ``ExerciseError`` and leaves nothing behind."""
    dest = Path(dest)
    target = dest / "rnnlab"
    if target.exists():
        raise FileExistsError(f"{target} already exists; choose an empty directory (your work is never overwritten)")
    unknown = set(keep) - set(BY_ID)
    if unknown:
        raise ConfigError(f"unknown exercise(s) {sorted(unknown)}; choose from {list(BY_ID)}")
    for place in (dest, *dest.parents):
        if place.exists() and not place.is_dir():
            raise ExerciseError(f"{place} is a file; give `rnnlab exercise init` a folder for the learner's copy")
    created = [folder for folder in (dest, *dest.parents) if not folder.exists()]  # deepest first
    try:
        _write_copy(dest, target, keep)
    except OSError as exc:
        for folder in created:
            with contextlib.suppress(OSError):
                folder.rmdir()  # only if empty: nothing of the learner's is removed
        raise ExerciseError(f"cannot write the learner's copy to {dest}: {_reason(exc)}") from None
    return target


def _reason(exc: OSError) -> str:
    """``os_reason`` of an OSError, or of the first of the many that ``shutil.copytree`` collects."""
    if isinstance(exc, shutil.Error) and exc.args and isinstance(exc.args[0], list) and exc.args[0]:
        why = str(exc.args[0][0][-1])
        code = re.search(r"\[Errno (\d+)\]", why)
        return os_reason(OSError(int(code[1]), why)) if code else why
    return os_reason(exc)


def _write_copy(dest: Path, target: Path, keep: set[str] | frozenset[str]) -> None:
    dest.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(dir=dest, prefix=".rnnlab-"))
    try:
        copy = staging / "rnnlab"
        shutil.copytree(PACKAGE_DIR, copy, ignore=shutil.ignore_patterns("__pycache__", "*.pyc"))
        from rnnlab.fast.dispatch import KERNEL_MODULES  # here: the learner's commands start without torch

        for module in KERNEL_MODULES.values():  # the fast kernels spell out every cell's equations
            (staging / Path(*module.split("."))).with_suffix(".py").unlink(missing_ok=True)
        regions = find_regions(copy)
        by_file: dict[Path, list[tuple[int, int, str]]] = {}
        for rid, places in regions.items():
            if rid in keep:
                continue
            for rel, start, end in places:
                by_file.setdefault(rel, []).append((start, end, rid))
        for rel, spans in by_file.items():
            path = copy / rel
            source = path.read_text(encoding="utf-8")
            lines, summaries = source.splitlines(), _summaries(source)
            for start, end, rid in sorted(spans, reverse=True):
                opening = REGION_START.match(lines[start - 1])
                assert opening is not None  # found by the same pattern when the regions were listed
                indent = opening["indent"]
                function = _enclosing(lines, start)
                several = len(regions[rid]) > 1  # then each function states its own rule
                rule = summaries.get(function, "") if several else ""
                lines[start:end] = [stub_line(BY_ID[rid], indent, function, str(dest), rule)]
            path.write_text("\n".join(lines) + "\n", encoding="utf-8")
        # what the copy needs to know of where it came from: the reference package (whose fast
        # kernels rnnlab.fast.adopt may use once proven equal) and the checkout's specs, if any
        record: dict[str, str] = {"made_from": str(PACKAGE_DIR)}
        specs = PACKAGE_DIR.parent.parent / "spec"
        if (specs / "conftest.py").is_file():
            record["specs"] = str(specs)
        (staging / RECORD).write_text(json.dumps(record, indent=2) + "\n", encoding="utf-8")
        os.replace(staging / RECORD, dest / RECORD)
        os.replace(copy, target)
    finally:
        shutil.rmtree(staging, ignore_errors=True)


RECORD = ".rnnlab-exercise.json"  # written by init beside the copy: where its specs are


def complete(impl_dir: str | os.PathLike[str], out_dir: str | os.PathLike[str]) -> list[str]:
    """Copy the learner's package at ``impl_dir`` to ``out_dir/rnnlab`` with every exercise that is
    still a stub filled in from the reference (the body of its region here); return those exercises'
    ids in curriculum order. What the learner wrote is copied as written, and the copy at
    ``impl_dir`` is not touched. The acceptance harness trains the completed copy, so a lab trains as
    soon as one of its exercises is the learner's, and its report names which parts came from where."""
    source, out = Path(impl_dir), Path(out_dir)
    target = out / "rnnlab"
    shutil.copytree(source / "rnnlab", target, ignore=shutil.ignore_patterns("__pycache__", "*.pyc"))
    if (source / RECORD).is_file():
        shutil.copy2(source / RECORD, out / RECORD)
    reference = find_regions(PACKAGE_DIR)
    filled: set[str] = set()
    by_file: dict[Path, list[tuple[int, int, str, int]]] = {}
    for rid, places in find_regions(target).items():
        for k, (rel, start, end) in enumerate(places):
            by_file.setdefault(rel, []).append((start, end, rid, k))
    for rel, spans in by_file.items():
        path = target / rel
        lines = path.read_text(encoding="utf-8").splitlines()
        for start, end, rid, k in sorted(spans, reverse=True):
            body = lines[start:end]
            if not (len(body) == 1 and STUB_TAG.search(body[0]) and "NotImplementedError" in body[0]):
                continue  # the learner's own code
            places = reference.get(rid, [])
            if k >= len(places) or places[k][0] != rel:
                raise ExerciseError(
                    f"{source}: exercise {rid} is not where this rnnlab has it ({rel}); the copy was made from "
                    "another version: make a new one with `rnnlab exercise init` and move your code into it"
                )
            _, ref_start, ref_end = places[k]
            lines[start:end] = (PACKAGE_DIR / rel).read_text(encoding="utf-8").splitlines()[ref_start:ref_end]
            filled.add(rid)
        path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return [e.id for e in EXERCISES if e.id in filled]


def read_record(impl_dir: str | os.PathLike[str]) -> dict[str, Any]:
    """The copy's ``RECORD`` (what ``init`` wrote beside it), or one ``ExerciseError`` naming the file and the fix
    when it is damaged (#35: a truncated or wrongly typed record was a traceback from status and accept)."""
    path = Path(impl_dir) / RECORD
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError):
        data = None
    if not isinstance(data, dict) or not all(
        isinstance(data.get(k, ""), (str, type(None))) for k in ("specs", "made_from")
    ):
        raise ExerciseError(
            f"{path} is damaged (not the record `rnnlab exercise init` writes); pass --specs PATH/TO/spec, or delete "
            "it and pass --specs each time"
        )
    return data


def spec_dir_for(impl_dir: str | os.PathLike[str], given: str | os.PathLike[str] | None = None) -> Path:
    """The spec folder to run against the copy at ``impl_dir``: ``given``, or the one ``init``
    recorded (the checkout it was made from), so that ``status`` works from any directory."""
    if given is not None:
        found = Path(given).expanduser().resolve()
    else:
        record = Path(impl_dir) / RECORD
        if not record.is_file():
            raise FileNotFoundError(
                f"{impl_dir} does not say where rnnlab's specs are ({RECORD} is missing); pass --specs PATH/TO/spec"
            )
        recorded = read_record(impl_dir).get("specs")
        if recorded is None:
            raise FileNotFoundError(
                f"{impl_dir} was made from an installed rnnlab without specs; pass --specs PATH/TO/spec"
            )
        found = Path(recorded)
    if not (found / "conftest.py").is_file():
        raise FileNotFoundError(f"{found} is not rnnlab's spec folder; pass --specs PATH/TO/spec (a checkout's spec/)")
    return found


# The one command that installs what a learner's spec runs need, from a checkout: the package with its test tools,
# and torch at the pin of constraints.txt (a plain `pip install -e .` may pull another torch build, and no pytest).
INSTALL = "pip install -c constraints.txt -e '.[test]'"
TEST_TOOLS = ("pytest", "hypothesis")  # what the specs import besides rnnlab and torch


def missing_test_tools() -> list[str]:
    """The test tools this Python cannot import (``TEST_TOOLS``)."""
    import importlib.util

    return [name for name in TEST_TOOLS if importlib.util.find_spec(name) is None]


TIME_LIMIT = 300.0  # seconds a status run's specs may take; all twelve exercises take about 10-60 s on 2 cores


def run_specs(
    impl_dir: str | os.PathLike[str],
    spec_dir: str | os.PathLike[str],
    markers: list[str] | None = None,
    timeout: float = TIME_LIMIT,
    env: dict[str, str] | None = None,
    paths: list[str] | None = None,
) -> dict[str, dict[str, Any]]:
    """Run the specs against ``impl_dir``; return per-test outcomes (nodeid -> {markers, outcome, message}).
    ``paths`` (relative to the checkout) limits the files collected; ``env`` adds environment
    variables to the spec run (e.g. a Hypothesis profile). A run that cannot import the copy
    (a syntax error), or that outlasts ``timeout`` seconds (a loop that never ends), is an
    ``ExerciseError`` saying so."""
    missing = missing_test_tools()
    if missing:
        raise ExerciseError(
            f"{' and '.join(missing)} {'is' if len(missing) == 1 else 'are'} not installed for {sys.executable}: "
            f"run `{INSTALL}` in the checkout (the test tools, with the pinned torch)"
        )
    spec_dir = Path(spec_dir).resolve()
    if not (spec_dir / "conftest.py").is_file():
        raise FileNotFoundError(f"{spec_dir} is not rnnlab's spec folder; pass --specs PATH/TO/spec")
    with tempfile.TemporaryDirectory() as tmp:
        results = Path(tmp) / "results.json"
        targets = [str(spec_dir.parent / p) for p in paths] if paths else [str(spec_dir)]
        cmd = [
            sys.executable,
            "-m",
            "pytest",
            *targets,
            "-q",
            "-p",
            "no:cacheprovider",
            "--no-header",
            f"--impl={Path(impl_dir).resolve()}",
            "-o",
            "addopts=--strict-markers",
        ]
        if markers:
            cmd += ["-m", " or ".join(markers)]
        run_env = {**os.environ, **(env or {}), "RNNLAB_RESULTS_JSON": str(results)}
        by_hand = f"pytest {' '.join(paths or ['spec'])} --impl {impl_dir} -x"
        try:
            done = subprocess.run(
                cmd, cwd=spec_dir.parent, env=run_env, capture_output=True, text=True, timeout=timeout
            )
        except subprocess.TimeoutExpired:  # subprocess.run has killed and reaped the spec run
            raise ExerciseError(
                f"the specs did not finish within {timeout:g} s against {impl_dir}: a function of yours may "
                f"loop forever (a loop whose condition never changes?); run `{by_hand}` from the checkout "
                "and press Ctrl-C to see the line it is on"
            ) from None
        if done.returncode not in (0, 1, 5) or not results.is_file():  # 0, 1, 5: passed, failed, none chosen
            raise ExerciseError(
                f"the specs could not run against {impl_dir}: {_first_error(done.stdout + done.stderr)}; see `{by_hand}`"
            )
        return json.loads(results.read_text())


def _first_error(output: str) -> str:
    """The error that stopped a spec run before its specs ran (an import of the learner's copy
    that failed), with the file and line it names: "SyntaxError: ... (cells.py, line 12)"."""
    errors = re.findall(r"^E\s+(\w*(?:Error|Exception)\b.*)$", output, re.MULTILINE)
    where = re.findall(r'^E\s+File "(.+?)", line (\d+)', output, re.MULTILINE)
    if not errors:
        return "pytest stopped before running them"
    place = f" ({where[-1][0]}, line {where[-1][1]})" if where else ""
    return f"{errors[-1].strip()}{place}"


def _enclosing(lines: list[str], at: int) -> str:
    """``Class.method`` or ``function`` around line ``at`` (0-based) of a module's source."""
    names: list[str] = []
    indent = len(lines[at]) - len(lines[at].lstrip())
    for line in reversed(lines[:at]):
        found = re.match(r"^(\s*)(?:async\s+)?(?:def|class)\s+(\w+)", line)
        if found and len(found[1]) < indent:
            names.insert(0, found[2])
            indent = len(found[1])
    return ".".join(names) or "?"


def where(exercise: Exercise) -> str:
    """Where the learner writes ``exercise``: "rnnlab/cells.py: LSTMCell.step" (every place, for
    an exercise of several functions)."""
    places = []
    for rel, start, _ in find_regions(PACKAGE_DIR).get(exercise.id, []):
        lines = (PACKAGE_DIR / rel).read_text(encoding="utf-8").splitlines()
        places.append(f"rnnlab/{rel.as_posix()}: {_enclosing(lines, start)}")
    return "; ".join(dict.fromkeys(places))


def status(
    impl_dir: str | os.PathLike[str],
    spec_dir: str | os.PathLike[str],
    only: list[str] | None = None,
    time_limit: float = TIME_LIMIT,
) -> list[dict[str, Any]]:
    """One row per exercise (those in ``only``, or all): its state and, where its specs ran,
    passed / total and every failing message.

    An exercise whose stub is still in place is "not started" and one whose prerequisites are
    stubs is "waiting"; neither runs its specs, so no count suggests progress where none was
    made. The others run their own spec file only, in one pytest run."""
    stubs = set(stubbed(impl_dir))
    chosen = [e for e in EXERCISES if only is None or e.id in only]
    runnable = [e for e in chosen if e.id not in stubs and not any(d in stubs for d in e.depends)]
    outcomes = (
        run_specs(
            impl_dir, spec_dir, [e.marker for e in runnable], time_limit, paths=sorted({e.spec for e in runnable})
        )
        if runnable
        else {}
    )
    rows = []
    for e in chosen:
        row: dict[str, Any] = {"exercise": e.id, "number": e.number, "title": e.title, "passed": 0, "total": 0}
        if e.id in stubs:
            row.update(state="not started", failures=[])
        elif e not in runnable:
            waiting = [BY_ID[d].number for d in e.depends if d in stubs]
            row.update(state="waiting", failures=[], waiting=waiting)
        else:
            mine = [r for r in outcomes.values() if e.marker in r["markers"]]
            failed = [r["message"] for r in mine if r["outcome"] != "passed"]
            done = bool(mine) and not failed
            row.update(state="done" if done else "in progress", passed=len(mine) - len(failed), total=len(mine))
            row["failures"] = failed
        row["first_failure"] = row["failures"][0] if row["failures"] else ""
        rows.append(row)
    return rows


def failure_line(message: str, limit: int = 400) -> str:
    """A failing spec's message on one line: its first line, and where that line is a bare
    ``assert ...`` the values pytest's assertion rewriting adds beneath it (``+  where ...``)."""
    lines = [line.strip() for line in message.strip().splitlines()]
    if not lines:
        return ""
    first = lines[0]
    if first.startswith("assert "):
        first = " ".join([first, *(line for line in lines[1:] if line.startswith("+"))])
    return first if len(first) <= limit else first[: limit - 1] + "…"


def next_step(
    rows: list[dict[str, Any]],
    impl_dir: str | os.PathLike[str],
    spec_dir: Path | None = None,
    checked_all: bool = True,
) -> str:
    """The line that says what to do next: the first exercise, in curriculum order, not done.
    ``checked_all`` False: ``rows`` are only the exercises asked for, so passing them is not
    passing the curriculum."""
    for r in rows:
        if r["state"] in ("in progress", "not started"):
            e = BY_ID[r["exercise"]]
            verb = "fix" if r["state"] == "in progress" else "write"
            spec = spec_dir.parent / e.spec if spec_dir is not None else e.spec
            return (
                f"next: {e.number} — {e.title}: {verb} {where(e)}, then run "
                f"`rnnlab exercise status {impl_dir} {e.id}` (or `pytest {spec} --impl {impl_dir}`)"
            )
    if any(r["state"] == "waiting" for r in rows):
        return "next: finish the exercises the waiting ones need (shown beside them)"
    if not checked_all:
        names = ", ".join(r["number"] for r in rows)
        verb = "passes its" if len(rows) == 1 else "pass their"
        return f"next: {names} {verb} specs; see the others with `rnnlab exercise status {impl_dir}`"
    return f"next: every exercise passes its specs; train your code: RNNLAB_IMPL={impl_dir} tox -e acceptance"


def format_status(rows: list[dict[str, Any]], width: int | None = None, full: bool = False) -> str:
    """The table ``rnnlab exercise status`` prints; ``full``: every failing message, whole."""
    width = width or max(120, shutil.get_terminal_size((160, 24)).columns)
    wide = max(len(r["title"]) for r in rows) if rows else 4
    lines = [f"{'exercise':<10} {'task':<{wide}} {'state':<21} first failing message"]
    for r in rows:
        state = {
            "done": f"done ({r['passed']}/{r['total']})",
            "in progress": f"{r['passed']}/{r['total']} specs pass",
            "not started": "not started (stub)",
            "waiting": f"waiting on {', '.join(r.get('waiting', []))}",
        }[r["state"]]
        msg = r["first_failure"].replace("\n", " ")
        room = width - 34 - wide
        shown = msg if full or len(msg) <= room else msg[: max(room - 1, 20)] + "…"
        lines.append(f"{r['number']:<10} {r['title']:<{wide}} {state:<21} {shown}".rstrip())
        if full:
            lines += [f"{'':<10} - {m}" for m in r["failures"][1:]]
    return "\n".join(lines)


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
