"""The user account: Django's user plus what chatsite needs to know about a person."""

from __future__ import annotations

from django.contrib.auth.models import AbstractUser
from django.db import models


class User(AbstractUser):
    display_name = models.CharField(max_length=150, blank=True)

    @property
    def shown_name(self) -> str:
        return self.display_name or self.username
