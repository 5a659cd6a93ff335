"""Where things are: the repository, its build tree and the programs the tests run."""
import os

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.dirname(
    os.path.abspath(__file__)))))
BUILD = os.path.join(ROOT, "build")
SLPOLICY = os.path.join(BUILD, "slpolicy")
SLL_COLLECT = os.path.join(BUILD, "sll-collect")
IMAGE = os.path.join(BUILD, "sll.efi")
RUNTIME = os.path.join(BUILD, "runtime")
SLL_SEAL = os.path.join(ROOT, "tools", "sll-seal")
SLL_ATTEST = os.path.join(BUILD, "sll-attest")
