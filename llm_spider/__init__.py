"""llm-spider: which pre-trained model in my zoo should I use for this task?

Read top-down: ``tasks`` (what a task is) → ``encoders`` (a task as a set of vectors) →
``zoo`` (the history of model × task scores) → ``ranking`` and ``baselines`` (who ranks the zoo)
→ ``metrics`` (how good a ranking is) → ``benchmark`` (protocols over the history) → ``cli``.
"""

__version__ = "0.1.0"
