"""Minimal Django settings for the benchmarks."""

SECRET_KEY = "benchmark-only"
DEBUG = False
ALLOWED_HOSTS = ["localhost"]
ROOT_URLCONF = "benchmarks._django_urls"
INSTALLED_APPS = ["backendkit.django"]
MIDDLEWARE: list[str] = []
DATABASES: dict[str, object] = {}
USE_TZ = True
