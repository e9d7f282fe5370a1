"""Bad chunks are refused with an error that names the real problem."""

import numpy as np
import pytest

import lamina.array as la

VECTOR = np.arange(4.0)
MATRIX = la.from_array(np.zeros((4, 4)), chunks=2)


def test_negative_entry_in_explicit_chunks_is_named_as_negative():
    with pytest.raises(ValueError, match="negative size -1"):
        la.from_array(VECTOR, chunks=((5, -1),))


def test_rechunk_dict_with_an_axis_out_of_range_names_axis_and_ndim():
    with pytest.raises(np.exceptions.AxisError, match="axis 5 is out of bounds for array of "
                                                      "dimension 2"):
        MATRIX.rechunk({5: 3})


def test_rechunk_dict_takes_negative_axes_like_numpy():
    assert MATRIX.rechunk({-1: 1}).chunks == ((2, 2), (1, 1, 1, 1))


def test_rechunk_dict_naming_one_axis_twice_is_refused():
    with pytest.raises(ValueError, match="names axis 1 twice"):
        MATRIX.rechunk({1: 1, -1: 2})


def test_rechunk_dict_none_keeps_the_axis():
    assert MATRIX.rechunk({0: None, 1: 4}).chunks == ((2, 2), (4,))


@pytest.mark.parametrize("chunks", [1.5, (2.5,), ((2, 2.0),), True, (np.True_,)])
def test_chunks_that_are_not_whole_numbers_say_so(chunks):
    with pytest.raises(TypeError, match="chunks must be whole numbers"):
        la.from_array(VECTOR, chunks=chunks)


def test_zero_chunk_size_only_on_an_empty_axis():
    with pytest.raises(ValueError, match="must be positive"):
        la.from_array(VECTOR, chunks=0)
    assert la.from_array(np.zeros(0), chunks=0).chunks == ((0,),)


def test_explicit_sizes_must_add_up_to_the_axis():
    with pytest.raises(ValueError, match=r"sum to 3, but the shape is 4"):
        la.from_array(VECTOR, chunks=((2, 1),))


def test_one_entry_per_dimension():
    with pytest.raises(ValueError, match="give one chunk size per dimension"):
        la.from_array(VECTOR, chunks=(2, 2))


def test_unknown_chunk_objects_are_refused_by_name():
    with pytest.raises(TypeError, match="is not understood"):
        la.from_array(VECTOR, chunks=object())
    with pytest.raises(ValueError, match="is not understood"):
        la.from_array(VECTOR, chunks="big")


def test_auto_and_whole_axis_still_work():
    assert la.from_array(VECTOR, chunks="auto").chunks == ((4,),)
    assert la.from_array(VECTOR, chunks=-1).chunks == ((4,),)
    assert la.from_array(VECTOR, chunks=(None,)).chunks == ((4,),)
    assert la.from_array(VECTOR, chunks={0: 3}).chunks == ((3, 1),)
