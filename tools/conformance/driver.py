"""Runs one MLX test file with unittest and writes each test's outcome (and, for failures and
errors, the exception's first line) as JSON.

    python driver.py <test_file.py> <out.json>

Import errors count as one error for the whole file (test id "<import>").
"""

import importlib.util
import json
import os
import sys
import unittest


class Recorder(unittest.TextTestResult):
    def __init__(self, *a, **k):
        super().__init__(*a, **k)
        self.outcomes = {}
        self.messages = {}

    def _id(self, test):
        return test.id().split(".", 1)[-1]

    def _note(self, test, err):
        """The last line of the exception: its type and message (the cause, for grouping)."""
        kind, value = err[0], err[1]
        text = str(value).strip().splitlines()
        self.messages[self._id(test)] = f"{kind.__name__}: {text[0] if text else ''}"[:300]

    def addSuccess(self, test):
        super().addSuccess(test)
        self.outcomes[self._id(test)] = "pass"

    def addFailure(self, test, err):
        super().addFailure(test, err)
        self.outcomes[self._id(test)] = "fail"
        self._note(test, err)

    def addError(self, test, err):
        super().addError(test, err)
        self.outcomes[self._id(test)] = "error"
        self._note(test, err)

    def addSkip(self, test, reason):
        super().addSkip(test, reason)
        self.outcomes[self._id(test)] = "skip"

    def addExpectedFailure(self, test, err):
        super().addExpectedFailure(test, err)
        self.outcomes[self._id(test)] = "pass"

    def addUnexpectedSuccess(self, test):
        super().addUnexpectedSuccess(test)
        self.outcomes[self._id(test)] = "fail"

    def addSubTest(self, test, subtest, err):
        super().addSubTest(test, subtest, err)
        if err is not None:
            failed = issubclass(err[0], test.failureException)
            self.outcomes[self._id(test)] = "fail" if failed else "error"
            self._note(test, err)


def main():
    path, out = sys.argv[1], sys.argv[2]
    outcomes = {}
    try:
        name = os.path.splitext(os.path.basename(path))[0]
        spec = importlib.util.spec_from_file_location(name, path)
        module = importlib.util.module_from_spec(spec)
        sys.modules[name] = module
        spec.loader.exec_module(module)
        suite = unittest.defaultTestLoader.loadTestsFromModule(module)
        runner = unittest.TextTestRunner(resultclass=Recorder, verbosity=1, stream=sys.stderr)
        result = runner.run(suite)
        outcomes = {
            t: {"outcome": o, "message": result.messages.get(t, "")}
            for t, o in result.outcomes.items()
        }
    except Exception as e:  # noqa: BLE001 - an import failure is the file's one error
        print(f"import failed: {type(e).__name__}: {e}", file=sys.stderr)
        outcomes = {"<import>": {"outcome": "error", "message": f"{type(e).__name__}: {e}"}}
    with open(out, "w") as f:
        json.dump(outcomes, f)


if __name__ == "__main__":
    main()
