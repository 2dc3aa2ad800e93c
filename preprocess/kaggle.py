"""Kaggle's layout of the Galaxy Zoo challenge data: folder and file names, and the image frame.

Source: the competition's data page ("Galaxy Zoo - The Galaxy Challenge", 2013-2014). Every
module that reads or writes a data folder takes its names from here.
"""

from pathlib import Path

TRAIN_IMAGES = "images_training_rev1"  # <GalaxyID>.jpg, one per row of SOLUTIONS
TEST_IMAGES = "images_test_rev1"
SOLUTIONS = "training_solutions_rev1.csv"  # GalaxyID + the 37 vote fractions
ZEROS = "all_zeros_benchmark.csv"  # the sample submission: every test ID, all zeros
# Not Kaggle's: the synthetic generator also writes the test truth, so submissions can be scored locally,
# and the expected fractions given each test galaxy's true parameters (the best possible prediction).
TEST_SOLUTIONS = "test_solutions.csv"
TEST_EXPECTED = "test_expected.csv"

FRAME = 424  # every Kaggle image is FRAME x FRAME pixels with the galaxy at the centre


def image_path(data: Path, folder: str, galaxy_id: int) -> Path:
    """Kaggle's name for a galaxy's image (preprocess.listing also finds .jpeg and .png files)."""
    return data / folder / f"{galaxy_id}.jpg"
