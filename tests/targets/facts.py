"""facts.py - how a test target hands its ground truth to the test: JSON
written under a temporary name, then renamed, so that the test (which
waits for the file to appear) never reads half of it."""
import json
import os


def write_facts(path, facts):
    with open(path + '.tmp', 'w') as f:
        json.dump(facts, f)
    os.rename(path + '.tmp', path)
