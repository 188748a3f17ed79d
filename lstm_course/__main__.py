"""``python -m lstm_course``: the ``lstm-course`` command."""

import sys

from lstm_course.cli import main

if __name__ == "__main__":
    sys.exit(main())
