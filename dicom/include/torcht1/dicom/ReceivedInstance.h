#pragma once

#include <string>

namespace torcht1::dicom {

/// What the node needs to know of an instance to spool and group it, without its pixels.
struct ReceivedInstance {
  std::string file;
  std::string sopClassUid;
  std::string sopInstanceUid;
  std::string seriesInstanceUid;
  std::string studyInstanceUid;
  std::string modality;
  std::string seriesDescription;  // or ProtocolName when empty
  int seriesNumber = 0;
  /// ImagesInAcquisition (0020,1002); 0 when absent.
  int imagesInAcquisition = 0;
  /// AcquisitionNumber (0020,0012); -1 when absent.
  int acquisitionNumber = -1;
  std::string callingAeTitle;     // who sent it (empty when read from disk)
  std::string peerAddress;

  /// Reads the header of a DICOM Part 10 file (stops before the pixel data). Throws
  /// DicomError naming the file when it is not readable DICOM or lacks the UIDs.
  static ReceivedInstance fromFile(const std::string& file);
};

}  // namespace torcht1::dicom
