"""Runnable studies that produce tables and plots from the gan_jax library (see README.md)."""
