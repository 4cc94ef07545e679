#include "torcht1/dicom/StoreClient.h"

#include <map>
#include <set>

#include <dcmtk/config/osconfig.h>
#include <dcmtk/dcmdata/dctk.h>
#include <dcmtk/dcmnet/scu.h>

#include "torcht1/dicom/DicomError.h"
#include "torcht1/dicom/DicomInstance.h"
#include "torcht1/dicom/TcpNoDelay.h"
#include "TlsLayer.h"

namespace torcht1::dicom {

namespace {

/// DCMTK's condition texts may hold newlines: errors here are one line.
std::string oneLine(std::string text) {
  for (char& c : text) {
    if (c == '\n' || c == '\r') c = ' ';
  }
  return text;
}

/// DcmSCU with its TLS switch reachable (DcmTLSSCU would also own the layer's set-up, which
/// TlsLayer shares with the receiver).
class Scu : public DcmSCU {
 public:
  using DcmSCU::useSecureConnection;
};

std::string peerName(const StorePeer& p) {
  return p.calledAeTitle + "@" + p.host + ":" + std::to_string(p.port);
}

}  // namespace

StoreClient::StoreClient(StorePeer peer) : peer_(std::move(peer)) {}

std::vector<StoreResult> StoreClient::send(const std::vector<std::string>& files) const {
  quietDcmtk();
  preferTcpNoDelay();
  // Declared before the SCU: it outlives the association (DcmSCU does not own it).
  std::unique_ptr<DcmTLSTransportLayer> tls;
  if (peer_.tls.enabled) {
    try {
      tls = makeTlsLayer(NET_REQUESTOR, {peer_.tls.certificateFile, peer_.tls.privateKeyFile, peer_.tls.caFile, true});
    } catch (const DicomError& e) {
      throw DicomError(peerName(peer_) + ": no association (" + e.what() + ")");
    }
  }
  Scu scu;
  scu.setAETitle(peer_.callingAeTitle.c_str());
  scu.setPeerHostName(peer_.host.c_str());
  scu.setPeerPort(static_cast<Uint16>(peer_.port));
  scu.setPeerAETitle(peer_.calledAeTitle.c_str());
  scu.setACSETimeout(static_cast<Uint32>(peer_.timeoutSeconds));
  scu.setDIMSETimeout(static_cast<Uint32>(peer_.timeoutSeconds));
  scu.setConnectionTimeout(peer_.timeoutSeconds);
  // One presentation context per SOP class among the files, offering the files' own transfer
  // syntax (compressed ones stay compressed) and both uncompressed little endian ones.
  std::map<std::string, std::set<std::string>> contexts;
  for (const auto& file : files) {
    DcmFileFormat header;
    if (header.loadFileUntilTag(file.c_str(), EXS_Unknown, EGL_noChange, DCM_MaxReadLength, ERM_autoDetect,
                                DCM_PixelData).bad()) {
      continue;  // reported per file below
    }
    OFString sopClass, syntax;
    header.getMetaInfo()->findAndGetOFString(DCM_MediaStorageSOPClassUID, sopClass);
    header.getMetaInfo()->findAndGetOFString(DCM_TransferSyntaxUID, syntax);
    if (sopClass.empty()) header.getDataset()->findAndGetOFString(DCM_SOPClassUID, sopClass);
    if (!sopClass.empty() && !syntax.empty()) contexts[sopClass.c_str()].insert(syntax.c_str());
  }
  for (auto& [sopClass, syntaxSet] : contexts) {
    OFList<OFString> syntaxes;
    for (const auto& s : syntaxSet) syntaxes.push_back(s.c_str());
    for (const char* plain : {UID_LittleEndianExplicitTransferSyntax, UID_LittleEndianImplicitTransferSyntax}) {
      if (!syntaxSet.count(plain)) syntaxes.push_back(plain);
    }
    scu.addPresentationContext(sopClass.c_str(), syntaxes);
  }
  if (contexts.empty()) {
    std::vector<StoreResult> results;
    for (const auto& file : files) results.push_back({file, false, 0xFFFF, file + ": cannot read as DICOM"});
    return results;
  }
  OFCondition status = scu.initNetwork();
  if (status.good() && tls) status = scu.useSecureConnection(tls.get());
  if (status.good()) status = scu.negotiateAssociation();
  if (status.bad()) throw DicomError(peerName(peer_) + ": no association (" + oneLine(status.text()) + ")");

  std::vector<StoreResult> results;
  std::string lost;  // set once the association broke: the rest is not attempted
  for (const auto& file : files) {
    StoreResult r;
    r.file = file;
    if (!lost.empty()) {
      r.error = file + ": not sent, " + lost;
      results.push_back(r);
      continue;
    }
    DcmFileFormat format;
    OFCondition loaded = format.loadFile(file.c_str());
    OFString sopClass;
    if (loaded.good()) format.getDataset()->findAndGetOFString(DCM_SOPClassUID, sopClass);
    const T_ASC_PresentationContextID context = loaded.good() ? scu.findPresentationContextID(sopClass, "") : 0;
    if (loaded.bad()) {
      r.error = file + ": cannot read (" + std::string(loaded.text()) + ")";
    } else if (context == 0) {
      r.error = file + ": " + peerName(peer_) + " accepted no presentation context for SOP class " + sopClass.c_str();
    } else {
      Uint16 response = 0xFFFF;
      const OFCondition sent = scu.sendSTORERequest(context, "", format.getDataset(), response);
      r.status = response;
      // Success, or success with a warning (coercion, elements discarded, no validation).
      r.ok = sent.good() && (response == 0x0000 || response == 0xB000 || response == 0xB006 || response == 0xB007);
      if (!r.ok) {
        char hex[8];
        std::snprintf(hex, sizeof hex, "%04X", response);
        r.error = sent.bad() ? file + ": " + peerName(peer_) + " gave no answer (" + oneLine(sent.text()) + ")"
                             : file + ": " + peerName(peer_) + " answered status 0x" + hex;
        if (sent.bad()) lost = "the association with " + peerName(peer_) + " was lost";
      }
    }
    results.push_back(r);
  }
  if (lost.empty()) scu.releaseAssociation();
  return results;
}

}  // namespace torcht1::dicom
