"""The allow-list behind DICOM de-identification (see backend.cases.deidentify): every attribute a
stored chest film may keep, and what happens to it.

Only what the image IODs we accept (CR, DX for presentation and processing, secondary capture)
need to be displayed and read is kept: the pixel module and its palette, geometry and pixel
spacing, modality LUT, VOI LUT / window, presentation LUT, shutters, modality, view, body part,
laterality, patient orientation and the coded anatomy. Anything not named here is dropped, at
every nesting level: private tags, overlays (60xx) and curves (50xx), free text, dates, names,
devices, requests and references to other objects.

Annex E actions, as applied here (PS3.15 Table E.1-1, Basic Profile column plus the one option we
retain):
- K (kept as is): the keywords in KEEP, none of which Table E.1-1 lists for the Basic Profile,
  and RETAINED_CHARACTERISTICS under the Retain Patient Characteristics Option (113108);
- Z (kept, emptied): EMPTIED, the Type 2 attributes of the patient, study, equipment and DX
  acquisition context modules; Type 2 attributes the source lacks are added empty;
- U (replaced): REPLACED_UIDS, mapped per upload (deidentify.UidMap);
- X, D, C and their combinations: removed. No attribute with a D action is Type 1 in these IODs,
  and removing where "clean" (C) is allowed is stricter than cleaning.

Longitudinal temporal information is removed, not retained or shifted: every date and time goes,
so LongitudinalTemporalInformationModified is REMOVED and neither 113106 nor 113107 is declared.
The acquisition date a clinician types into the upload form lives in the case row, not the file.
"""

from __future__ import annotations

from typing import Final

# (code value, code meaning) in DCM, context group CID 7050 "De-identification Method".
BASIC_PROFILE: Final = ("113100", "Basic Application Confidentiality Profile")
RETAIN_PATIENT_CHARACTERISTICS: Final = ("113108", "Retain Patient Characteristics Option")
DECLARED_OPTIONS: Final = (BASIC_PROFILE, RETAIN_PATIENT_CHARACTERISTICS)

# Retained by 113108: what matters for reading a chest film.
RETAINED_CHARACTERISTICS: Final = frozenset(
    {
        "PatientSex",
        "PatientAge",
        "PatientSize",
        "PatientWeight",
    }
)

# Z: Type 2 attributes kept (or added) with no value.
EMPTIED: Final = frozenset(
    {
        "PatientName",
        "PatientID",
        "PatientBirthDate",
        "StudyDate",
        "StudyTime",
        "AccessionNumber",
        "ReferringPhysicianName",
        "StudyID",
        "Manufacturer",
        "PositionReferenceIndicator",
        "AcquisitionContextSequence",
    }
)
# Type 2 attributes of every accepted IOD, added empty when the source lacks them.
TYPE2_ALWAYS: Final = (
    "PatientName",
    "PatientID",
    "PatientBirthDate",
    "PatientSex",
    "StudyDate",
    "StudyTime",
    "AccessionNumber",
    "ReferringPhysicianName",
    "StudyID",
    "SeriesNumber",
    "InstanceNumber",
    "Manufacturer",
)
# Type 2 attributes required once another attribute of their module is kept.
TYPE2_WITH: Final = {
    "PositionReferenceIndicator": "FrameOfReferenceUID",  # Frame of Reference
    "PositionerType": "ViewCodeSequence",
}  # DX Positioning

# U: instance UIDs, replaced consistently within one upload.
REPLACED_UIDS: Final = frozenset(
    {
        "SOPInstanceUID",
        "StudyInstanceUID",
        "SeriesInstanceUID",
        "FrameOfReferenceUID",
        "PaletteColorLookupTableUID",
    }
)
# UIDs that name a standard class, not an instance: kept.
CLASS_UIDS: Final = frozenset({"SOPClassUID"})

# K: kept as they are.
KEEP: Final = frozenset(
    {
        # SOP common, series, image identification (numbers and coded strings only)
        "SOPClassUID",
        "SpecificCharacterSet",
        "InstanceNumber",
        "SeriesNumber",
        "AcquisitionNumber",
        "ImageType",
        "Modality",
        "PresentationIntentType",
        "ConversionType",
        # what the film shows and how the patient lay
        "BodyPartExamined",
        "ViewPosition",
        "Laterality",
        "ImageLaterality",
        "PatientPosition",
        "PatientOrientation",
        "AnatomicalOrientationType",
        "PositionerType",
        "AnatomicRegionSequence",
        "ViewCodeSequence",
        "PatientOrientationCodeSequence",
        "BurnedInAnnotation",
        # image pixel module, palettes and colour
        "SamplesPerPixel",
        "PhotometricInterpretation",
        "PlanarConfiguration",
        "Rows",
        "Columns",
        "PixelAspectRatio",
        "BitsAllocated",
        "BitsStored",
        "HighBit",
        "PixelRepresentation",
        "SmallestImagePixelValue",
        "LargestImagePixelValue",
        "PixelPaddingValue",
        "PixelPaddingRangeLimit",
        "NumberOfFrames",
        "PixelData",
        "ExtendedOffsetTable",
        "ExtendedOffsetTableLengths",
        "RedPaletteColorLookupTableDescriptor",
        "GreenPaletteColorLookupTableDescriptor",
        "BluePaletteColorLookupTableDescriptor",
        "RedPaletteColorLookupTableData",
        "GreenPaletteColorLookupTableData",
        "BluePaletteColorLookupTableData",
        "SegmentedRedPaletteColorLookupTableData",
        "SegmentedGreenPaletteColorLookupTableData",
        "SegmentedBluePaletteColorLookupTableData",
        "ICCProfile",
        "ColorSpace",
        "LossyImageCompression",
        "LossyImageCompressionRatio",
        "LossyImageCompressionMethod",
        # geometry and pixel spacing
        "PixelSpacing",
        "ImagerPixelSpacing",
        "NominalScannedPixelSpacing",
        "PixelSpacingCalibrationType",
        "EstimatedRadiographicMagnificationFactor",
        "DistanceSourceToDetector",
        "DistanceSourceToPatient",
        "ImageOrientationPatient",
        "ImagePositionPatient",
        "SliceThickness",
        "DetectorType",
        "FieldOfViewOrigin",
        "FieldOfViewRotation",
        "FieldOfViewHorizontalFlip",
        "FieldOfViewShape",
        "FieldOfViewDimensions",
        # grey-scale rendering: modality LUT, VOI LUT / window, presentation LUT, DX intensity
        "RescaleIntercept",
        "RescaleSlope",
        "RescaleType",
        "ModalityLUTSequence",
        "WindowCenter",
        "WindowWidth",
        "VOILUTFunction",
        "VOILUTSequence",
        "PresentationLUTShape",
        "PresentationLUTSequence",
        "PixelIntensityRelationship",
        "PixelIntensityRelationshipSign",
        # display shutters
        "ShutterShape",
        "ShutterLeftVerticalEdge",
        "ShutterRightVerticalEdge",
        "ShutterUpperHorizontalEdge",
        "ShutterLowerHorizontalEdge",
        "CenterOfCircularShutter",
        "RadiusOfCircularShutter",
        "VerticesOfThePolygonalShutter",
        "ShutterPresentationValue",
    }
)

# Inside a kept sequence, only these keywords survive (nested sequences are filtered again).
_CODE_ITEM = frozenset(
    {
        "CodeValue",
        "CodingSchemeDesignator",
        "CodingSchemeVersion",
        "CodeMeaning",
        "LongCodeValue",
        "URNCodeValue",
        "ContextIdentifier",
    }
)
_LUT_ITEM = frozenset({"LUTDescriptor", "LUTData", "ModalityLUTType"})
ITEM_KEEP: Final[dict[str, frozenset[str]]] = {
    "AnatomicRegionSequence": _CODE_ITEM | {"AnatomicRegionModifierSequence"},
    "AnatomicRegionModifierSequence": _CODE_ITEM,
    "ViewCodeSequence": _CODE_ITEM | {"ViewModifierCodeSequence"},
    "ViewModifierCodeSequence": _CODE_ITEM,
    "PatientOrientationCodeSequence": _CODE_ITEM | {"PatientOrientationModifierCodeSequence"},
    "PatientOrientationModifierCodeSequence": _CODE_ITEM,
    "ModalityLUTSequence": _LUT_ITEM,
    "VOILUTSequence": _LUT_ITEM,
    "PresentationLUTSequence": _LUT_ITEM,
    "AcquisitionContextSequence": frozenset(),  # Z: kept empty
}

ALLOWED: Final = KEEP | EMPTIED | RETAINED_CHARACTERISTICS | REPLACED_UIDS | CLASS_UIDS
