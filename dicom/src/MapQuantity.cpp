#include "torcht1/dicom/MapQuantity.h"

namespace torcht1::dicom {

MapQuantity MapQuantity::t1() {
  // DCM 113063 "T1" is DICOM's own code for T1 among its image-derivation codes (CID 7203,
  // beside 113065 "T2" and 113041 "Apparent Diffusion Coefficient", which ADC parametric maps
  // use as their quantity). The DCM 12635x codes are T1 *measurement methods* (CID 4107):
  // MOLLI is a Look-Locker inversion recovery.
  MapQuantity q;
  q.name = "T1";
  q.quantity = {"113063", "DCM", "T1"};
  q.derivation = q.quantity;
  q.measurementMethod = {"126351", "DCM", "T1 by Inversion Recovery"};
  q.unit = {"ms", "UCUM", "millisecond"};
  q.contentLabel = "T1_MAP";
  q.contentDescription = "T1 in ms from a MOLLI fit; 0 where not valid";
  q.lutExplanation = "T1 (ms); 0 where the fit was not valid";
  q.colourImageType = "DERIVED\\SECONDARY\\T1 MAP\\COLOUR";
  return q;
}

MapQuantity MapQuantity::ecvPercent() {
  MapQuantity q;
  q.name = "ECV";
  q.derivation = {"113046", "DCM", "Pixel by pixel division"};
  q.unit = {"%", "UCUM", "percent"};
  q.contentLabel = "ECV_MAP";
  q.contentDescription = "ECV (%) from native and post-contrast T1; 0: no value";
  q.lutExplanation = "ECV (%); 0 where no value";
  q.colourImageType = "DERIVED\\SECONDARY\\ECV\\COLOUR";
  return q;
}

}  // namespace torcht1::dicom
