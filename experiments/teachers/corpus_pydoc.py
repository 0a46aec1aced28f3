"""The second text corpus: Python docstrings found on this machine, labelled by top-level package.

Every .py file under the standard library and the site-packages/dist-packages directories is
parsed with `ast` (never imported); the text of a row is the first paragraph of the docstring of
a public module, class, function or method (no path component or name starting with "_",
`__init__.py` standing for its package), whitespace-normalised, at least MIN_WORDS words,
de-duplicated (the first in root order, then path order, keeps it). Label: the top-level package
or module the file belongs to; the n_packages most common keep their name, the rest are folded
into a final class "other". Test folders (test, tests) and files over 1 MB are skipped.
"""
import ast
import collections
import os
import site
import sysconfig

MIN_WORDS = 4
SKIP_DIRS = {"test", "tests", "__pycache__", "site-packages", "dist-packages"}
MAX_BYTES = 1 << 20


def roots():
    """The stdlib directory, then every site/dist-packages directory, each once."""
    out, seen = [], set()
    for path in [sysconfig.get_paths()["stdlib"]] + site.getsitepackages():
        real = os.path.realpath(path)
        if os.path.isdir(real) and real not in seen:
            seen.add(real)
            out.append(real)
    return out


def _files(root):
    """(relative path parts, absolute path) of every public .py file under root, in sorted order."""
    for dirpath, dirnames, filenames in os.walk(root):
        rel = os.path.relpath(dirpath, root)
        parts = [] if rel == "." else rel.split(os.sep)
        dirnames[:] = sorted(d for d in dirnames if d not in SKIP_DIRS and d.isidentifier()
                             and not d.startswith("_"))
        for name in sorted(filenames):
            if not name.endswith(".py"):
                continue
            stem = name[:-3]
            if stem != "__init__" and (stem.startswith("_") or not stem.isidentifier()):
                continue
            if not parts and stem == "__init__":
                continue
            yield parts + ([] if stem == "__init__" else [stem]), os.path.join(dirpath, name)


def _docstrings(node):
    """Docstrings of a module and of its public classes, functions and methods, in source order."""
    yield ast.get_docstring(node)
    for child in node.body:
        if isinstance(child, (ast.ClassDef, ast.FunctionDef, ast.AsyncFunctionDef)) \
                and not child.name.startswith("_"):
            if isinstance(child, ast.ClassDef):
                yield from _docstrings(child)
            else:
                yield ast.get_docstring(child)


def first_paragraph(doc):
    para = doc.strip().split("\n\n", 1)[0]
    return " ".join(para.split())


def load(n_packages=16):
    """Returns (texts, labels, label_names, stats), like corpus.load()."""
    seen, texts, packages = set(), [], []
    n_files = n_failed = 0
    for root in roots():
        for parts, path in _files(root):
            if os.path.getsize(path) > MAX_BYTES:
                continue
            try:
                with open(path, "rb") as fh:
                    tree = ast.parse(fh.read(), filename=path)
            except (SyntaxError, ValueError, UnicodeDecodeError, RecursionError, OSError):
                n_failed += 1
                continue
            n_files += 1
            for doc in _docstrings(tree):
                text = first_paragraph(doc) if doc else ""
                if len(text.split()) < MIN_WORDS or text in seen:
                    continue
                seen.add(text)
                texts.append(text)
                packages.append(parts[0])
    counts = collections.Counter(packages)
    kept = [p for p, _ in sorted(counts.items(), key=lambda kv: (-kv[1], kv[0]))[:n_packages]]
    index = {p: i for i, p in enumerate(kept)}
    labels = [index.get(p, len(kept)) for p in packages]
    stats = {"files": n_files, "unparsed": n_failed, "unique_texts": len(texts),
             "packages": len(counts), "roots": roots()}
    return texts, labels, kept + ["other"], stats


def description(n_kept, stats):
    return ("Python docstrings: first paragraph of the docstring of every public module, class, "
            "function and method in the .py files under %s (ast-parsed, not imported; test folders "
            "skipped), whitespace-normalised, at least %d words, de-duplicated; label = the top-level "
            "package, the %d most common kept, the rest folded into 'other'"
            % (", ".join(stats["roots"]), MIN_WORDS, n_kept))
