import os
import sys

# The tests import the group launcher and helpers from this directory.
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from clientlib import group  # noqa: E402,F401  (the fixture, shared by every test file)
