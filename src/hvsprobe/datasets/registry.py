"""The human-judgment data sets hvsprobe knows: where they come from, their terms and layout.

Every entry says how big the data set is, its terms in one line, where it comes from, how its
archives are verified (a sha256 *pinned* here, or *recorded on first download* into the
data folder and checked on every later fetch), the folder it lands in under the data root,
and how many rated rows a complete copy has.  Data sets behind a request form have no
files: their ``obtain`` line says how to get them, then ``hvsprobe data add`` registers
the copy.
"""

from __future__ import annotations

from dataclasses import dataclass

from .._validation import check_choice

__all__ = ["DATASETS", "DatasetInfo", "RemoteFile", "get_dataset_info", "list_datasets"]


@dataclass(frozen=True)
class RemoteFile:
    """One archive of a data set, as published by its authors.

    Attributes
    ----------
    filename : str
        Name of the archive (its suffix selects the extractor: ``.zip``, ``.tar*``, ``.rar``).
    url : str
        The authors' published download address.
    sha256 : str or None
        Pinned hex sha256, or ``None`` when no hash is published: the first download's
        hash is recorded in the data folder and later fetches are checked against it.
    sha256_source : str
        Where the pinned hash comes from (empty when none is pinned).
    size_bytes : int or None
        Size of the archive, where known.
    extract_to : str
        Sub-folder of the data set's folder the archive is extracted into.
    strip_top : bool
        Drop the one top-level folder all members share (``kadid10k/dmos.csv`` ->
        ``dmos.csv``); a no-op when the members do not share one.
    """

    filename: str
    url: str
    sha256: str | None = None
    sha256_source: str = ""
    size_bytes: int | None = None
    extract_to: str = ""
    strip_top: bool = False


@dataclass(frozen=True)
class DatasetInfo:
    """A supported data set.

    Attributes
    ----------
    name : str
        Registry name (``hvsprobe data fetch NAME``).
    title : str
        Human-readable name.
    folder : str
        Standard folder under the data root; the readers of :mod:`hvsprobe.evaluate` look
        there when no folder is given.
    size : str
        Download size, in words.
    terms : str
        Licence / terms of use, one line.
    source : str
        The authors' page.
    citation : str
        What to cite.
    layout : str
        The expected layout, one line (used in error messages).
    files : tuple of RemoteFile
        Archives to download; empty for data sets behind a request form.
    obtain : str
        One line on how to obtain a copy that cannot be downloaded automatically.
    rows : int or None
        Rated rows (pairs, triplets) of a complete copy; ``None`` where no exact count is
        published (then the count found is recorded and shown, not checked).
    rows_note : str
        Where ``rows`` comes from.
    subsets : tuple of str
        Sub-sets a complete copy must contain (BAPPS).
    """

    name: str
    title: str
    folder: str
    size: str
    terms: str
    source: str
    citation: str
    layout: str
    files: tuple[RemoteFile, ...] = ()
    obtain: str = ""
    rows: int | None = None
    rows_note: str = ""
    subsets: tuple[str, ...] = ()

    @property
    def downloadable(self) -> bool:
        """Whether ``hvsprobe data fetch`` can download it."""
        return bool(self.files)

    @property
    def hash_policy(self) -> str:
        """``'pinned'``, ``'recorded on first download'``, a mix of both, or ``'n/a'``."""
        if not self.files:
            return "n/a (local copy)"
        pinned = [f.sha256 is not None for f in self.files]
        if all(pinned):
            return "pinned"
        if not any(pinned):
            return "recorded on first download"
        return "pinned: " + ", ".join(
            f"{f.filename} {'pinned' if f.sha256 else 'recorded on first download'}"
            for f in self.files
        )


_BAPPS_SOURCE = "https://github.com/richzhang/PerceptualSimilarity"
_BAPPS_BASE = "https://perceptual-similarity.s3.us-west-2.amazonaws.com/dataset"
_BAPPS_TERMS = (
    "released with LPIPS (repository licence BSD-2-Clause) for research; cite Zhang et al., "
    "CVPR 2018"
)
_BAPPS_CITATION = (
    "R. Zhang, P. Isola, A. A. Efros, E. Shechtman, O. Wang, The unreasonable effectiveness "
    "of deep features as a perceptual metric, CVPR 2018"
)

#: Every supported data set by name.
DATASETS: dict[str, DatasetInfo] = {
    d.name: d
    for d in (
        DatasetInfo(
            name="kadid10k",
            title="KADID-10k",
            folder="iqa/KADID-10k",
            size="3.1 GB (zip)",
            terms=(
                "free for research; cite Lin, Hosu & Saupe, QoMEX 2019 "
                "(terms: http://database.mmsp-kn.de/kadid-10k-database.html)"
            ),
            source="http://database.mmsp-kn.de/kadid-10k-database.html",
            citation=(
                "H. Lin, V. Hosu, D. Saupe, KADID-10k: A large-scale artificially distorted "
                "IQA database, QoMEX 2019"
            ),
            layout="dmos.csv (dist_img, ref_img, dmos, var) and images/",
            files=(
                RemoteFile(
                    "kadid10k.zip",
                    "https://datasets.vqa.mmsp-kn.de/archives/kadid10k.zip",
                    size_bytes=3_067_408_471,
                    strip_top=True,
                ),
            ),
            rows=10125,
            rows_note="81 references x 25 distortions x 5 levels",
        ),
        DatasetInfo(
            name="tid2013",
            title="TID2013",
            folder="iqa/TID2013",
            size="0.9 GB (rar)",
            terms=(
                "free for research; cite Ponomarenko et al., Signal Processing: Image "
                "Communication 30, 2015 (terms: http://www.ponomarenko.info/tid2013.htm)"
            ),
            source="http://www.ponomarenko.info/tid2013.htm",
            citation=(
                "N. Ponomarenko et al., Image database TID2013: Peculiarities, results and "
                "perspectives, Signal Processing: Image Communication 30:57-77, 2015"
            ),
            layout="mos_with_names.txt, reference_images/, distorted_images/",
            files=(
                RemoteFile(
                    "tid2013.rar", "http://www.ponomarenko.info/tid2013/tid2013.rar", strip_top=True
                ),
            ),
            rows=3000,
            rows_note="25 references x 24 distortions x 5 levels",
        ),
        DatasetInfo(
            name="bapps-2afc-val",
            title="BAPPS 2AFC validation set",
            folder="bapps",
            size="1.1 GB (tar.gz)",
            terms=_BAPPS_TERMS,
            source=_BAPPS_SOURCE,
            citation=_BAPPS_CITATION,
            layout="2afc/val/<subset>/{ref,p0,p1}/<id>.png and judge/<id>.npy",
            files=(
                RemoteFile(
                    "twoafc_val.tar.gz",
                    f"{_BAPPS_BASE}/twoafc_val.tar.gz",
                    sha256="41486671b06de923e7ba277c4797d4d9d86d609863ba35ecdb576133f8b9d859",
                    sha256_source=(
                        "recorded by a public third-party mirror script, not published by "
                        "the authors"
                    ),
                    extract_to="2afc",
                ),
            ),
            rows=None,
            rows_note=(
                "the LPIPS paper gives rounded counts only (about 36k triplets); the "
                "count found is recorded"
            ),
            subsets=("cnn", "color", "deblur", "frameinterp", "superres", "traditional"),
        ),
        DatasetInfo(
            name="bapps-jnd",
            title="BAPPS JND validation set",
            folder="bapps",
            size="0.2 GB (tar.gz)",
            terms=_BAPPS_TERMS,
            source=_BAPPS_SOURCE,
            citation=_BAPPS_CITATION,
            layout="jnd/val/<subset>/{p0,p1}/<id>.png and same/<id>.npy",
            files=(RemoteFile("jnd.tar.gz", f"{_BAPPS_BASE}/jnd.tar.gz"),),
            rows=None,
            rows_note=(
                "the LPIPS paper gives rounded counts only (about 9.6k pairs); the count "
                "found is recorded"
            ),
            subsets=("cnn", "traditional"),
        ),
        DatasetInfo(
            name="live",
            title="LIVE IQA Release 2",
            folder="iqa/LIVE",
            size="29 references + 779 distorted images (BMP)",
            terms=(
                "free for research with acknowledgment; cite the LIVE database and Sheikh "
                "et al., IEEE TIP 15(11), 2006; do not redistribute"
            ),
            source="https://live.ece.utexas.edu/research/quality/subjective.htm",
            citation=(
                "H. R. Sheikh, M. F. Sabir, A. C. Bovik, A statistical evaluation of recent "
                "full reference image quality assessment algorithms, IEEE TIP 15(11), 2006"
            ),
            layout=(
                "labels.csv (dis_img_path, ref_img_path, dis_type, dmos[, live_id, "
                "duplicate_group]) with refimgs/ and one folder per distortion"
            ),
            obtain=(
                "request the download on https://live.ece.utexas.edu/research/quality/"
                "subjective.htm, write labels.csv (docs/evaluate.md), then `hvsprobe data "
                "add live DIR`"
            ),
            rows=779,
            rows_note="779 rated distorted images (Release 2)",
        ),
        DatasetInfo(
            name="csiq",
            title="CSIQ",
            folder="iqa/CSIQ",
            size="30 references + 866 images (PNG)",
            terms="research use; cite Larson & Chandler, J. Electronic Imaging 19(1), 2010",
            source="https://s2.smu.edu/~eclarson/csiq.html",
            citation=(
                "E. C. Larson, D. M. Chandler, Most apparent distortion: full-reference image "
                "quality assessment and the role of strategy, J. Electronic Imaging 19(1), 2010"
            ),
            layout="csiq.DMOS.csv (image, dst_type, dst_lev, dmos), src_imgs/, dst_imgs/<type>/",
            obtain=(
                "get src_imgs, dst_imgs and csiq.DMOS.xlsx from https://s2.smu.edu/~eclarson/"
                "csiq.html, save the all_by_image sheet as csiq.DMOS.csv, then `hvsprobe data "
                "add csiq DIR`"
            ),
            rows=866,
            rows_note="30 references x 6 distortions x 4-5 levels",
        ),
        DatasetInfo(
            name="pipal",
            title="PIPAL (training set)",
            folder="iqa/PIPAL",
            size="200 references + 23,200 images (training set)",
            terms="research use after registration; cite Jinjin Gu et al., ECCV 2020",
            source="https://www.jasongt.com/projectpages/pipal.html",
            citation=(
                "J. Gu, H. Cai, H. Chen, X. Ye, J. Ren, C. Dong, PIPAL: a large-scale image "
                "quality assessment dataset for perceptual image restoration, ECCV 2020"
            ),
            layout=(
                "Train_Label/*.txt ('<distorted name>,<ELO score>' lines), Train_Ref/, and "
                "the distorted images in any sub-folder"
            ),
            obtain=(
                "register on the PIPAL page https://www.jasongt.com/projectpages/pipal.html "
                "(NTIRE challenge form), download the training set, then `hvsprobe data add "
                "pipal DIR`"
            ),
            rows=23200,
            rows_note="200 references x 116 distorted images (public training set)",
        ),
    )
}


def list_datasets() -> list[str]:
    """Names of the supported data sets.

    Returns
    -------
    list of str

    Examples
    --------
    >>> "kadid10k" in list_datasets()
    True
    """
    return list(DATASETS)


def get_dataset_info(name: str) -> DatasetInfo:
    """The registry entry of a data set.

    Parameters
    ----------
    name : str
        One of :func:`list_datasets`.

    Returns
    -------
    DatasetInfo

    Raises
    ------
    ValueError
        For an unknown name (the message lists the known ones).

    Examples
    --------
    >>> get_dataset_info("tid2013").rows
    3000
    """
    check_choice(name, "data set", DATASETS)
    return DATASETS[name]
