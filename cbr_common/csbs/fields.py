"""Field types the CSBS v1 request bodies share (backups and policies alike): names of 1–255
letters, digits, ``_`` and ``-``; descriptions of up to 255 characters without ``<`` or
``>``."""
from __future__ import annotations

from typing import Annotated

from pydantic import AfterValidator, Field

from cbr_common.naming import check_name, rule_error


def _no_angle_brackets(text: str) -> str:
    if '<' in text or '>' in text:
        raise rule_error('must not contain < or >')
    return text


Name = Annotated[str, Field(min_length=1, max_length=255), AfterValidator(check_name)]
Description = Annotated[str, Field(max_length=255), AfterValidator(_no_angle_brackets)]
