"""llm-spider: which pre-trained model in my zoo should I use for this task?

Read top-down: ``datasets`` (public data) → ``tasks`` (what a task is) → ``encoders`` (a task as a
set of vectors) → ``zoo`` (the history of model × task scores; local zoos) → ``ranking`` (the
interface, the Spider, task similarity) and ``baselines`` → ``metrics`` → ``benchmark`` → ``api``
(what the CLI and users call) → ``cli``. ``vision`` is the image zoo's path through the same ranking.
docs/design.md draws the map.
"""

__version__ = "0.1.0"

import time as _time

STARTED = _time.perf_counter()  # when the package was first imported: a command's whole wall time counts from here
