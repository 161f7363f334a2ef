"""Figures: training history, confusion matrix, fundamentals, explanations."""
