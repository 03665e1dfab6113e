"""The vision zoo in one place: image backbones (backbones.py), their features and ground truth
(zoo.py, truth.py), image tasks (tasks.py, images.py), the Spider's image tokens (tokens.py), the
nine transferability estimators (estimators/), the benchmark (benchmark.py) and the API that
`llm-spider vision rank` calls (selector.py)."""

from llm_spider.vision.selector import VisionRanking, VisionSelector

__all__ = ["VisionRanking", "VisionSelector"]
