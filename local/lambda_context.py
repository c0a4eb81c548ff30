from __future__ import annotations

import uuid
from dataclasses import dataclass, field


@dataclass
class LocalContext:
    """The attributes of a Lambda context object that the handlers and Powertools read."""

    function_name: str
    memory_limit_in_mb: int = 512
    invoked_function_arn: str = ""
    aws_request_id: str = field(default_factory=lambda: str(uuid.uuid4()))

    def get_remaining_time_in_millis(self) -> int:
        return 60_000
