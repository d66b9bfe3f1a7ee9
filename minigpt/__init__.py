"""minigpt: a small but real Llama/Qwen-style language model for the course."""

from .cache import KVCache
from .config import ModelConfig
from .counting import count_parameters
from .course import load_course_model
from .generate import generate
from .generation_config import GenerationConfig
from .model import MiniGPT
from .tokenizer import Tokenizer
from .train import TrainConfig, Trainer

__all__ = [
    "ModelConfig",
    "MiniGPT",
    "KVCache",
    "Tokenizer",
    "count_parameters",
    "generate",
    "GenerationConfig",
    "Trainer",
    "TrainConfig",
    "load_course_model",
]
__version__ = "0.1.0"
