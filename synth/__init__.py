"""Synthetic galaxies in Kaggle's layout, with crowd-vote labels and the best possible prediction."""
