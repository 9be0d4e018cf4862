import pytest

from fer.labels import (
    CANONICAL_CLASSES,
    FER2013_CLASSES,
    FER2013_CSV_ORDER,
    canonical_classes,
    canonical_name,
    integer_order,
)


def test_canonical_classes_are_alphabetical_and_contempt_is_eighth_class():
    assert FER2013_CLASSES == ("angry", "disgust", "fear", "happy", "neutral", "sad", "surprise")
    assert CANONICAL_CLASSES == ("angry", "contempt", "disgust", "fear", "happy", "neutral", "sad", "surprise")


@pytest.mark.parametrize("alias, name", [("anger", "angry"), ("Happiness", "happy"), ("sadness", "sad"),
                                         ("surprised", "surprise"), ("fearful", "fear"), ("Disgusted", "disgust"),
                                         (" Neutral ", "neutral"), ("contempt", "contempt")])
def test_aliases_map_to_canonical_names(alias, name):
    assert canonical_name(alias) == name


def test_unknown_label_is_rejected_with_the_known_names():
    with pytest.raises(ValueError, match="unknown emotion label 'pain'.*happiness"):
        canonical_name("pain")


def test_fer2013_csv_integer_order_is_the_original_one():
    assert FER2013_CSV_ORDER[0] == "angry" and FER2013_CSV_ORDER[4] == "sad" and FER2013_CSV_ORDER[6] == "neutral"
    assert integer_order("fer2013_csv") == FER2013_CSV_ORDER
    assert integer_order(["Happiness", "anger"]) == ("happy", "angry")


def test_dataset_classes_are_sorted_and_two_spellings_of_one_class_are_an_error():
    assert canonical_classes(["surprised", "anger", "happiness"]) == ("angry", "happy", "surprise")
    with pytest.raises(ValueError, match="both mean 'angry'"):
        canonical_classes(["anger", "angry"])
