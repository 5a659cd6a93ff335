"""The tests' check list: one "ok"/"FAIL" line per check, then "N passed, N failed"."""


class Checks:
    def __init__(self):
        self.passed = 0
        self.failed = []

    def check(self, cond, what, detail=""):
        """Records cond under the name what; on failure also prints detail (indented)."""
        print(("ok   " if cond else "FAIL ") + what, flush=True)
        if cond:
            self.passed += 1
        else:
            self.failed.append(what)
            if detail:
                print("     " + str(detail).strip().replace("\n", "\n     "))
        return cond

    def summary(self):
        """Prints the totals; the exit status of the test (1 if anything failed)."""
        print(f"{self.passed} passed, {len(self.failed)} failed")
        return 1 if self.failed else 0
