#include "torcht1/dicom/DicomUid.h"

#include <cstdint>

namespace torcht1::dicom {

namespace {

uint64_t fnv1a(const std::string& text, uint64_t basis) {
  uint64_t h = basis;
  for (unsigned char c : text) {
    h ^= c;
    h *= 0x100000001b3ULL;
  }
  // Final avalanche (splitmix64) so that near-identical names differ in every digit.
  h += 0x9e3779b97f4a7c15ULL;
  h = (h ^ (h >> 30)) * 0xbf58476d1ce4e5b9ULL;
  h = (h ^ (h >> 27)) * 0x94d049bb133111ebULL;
  return h ^ (h >> 31);
}

}  // namespace

std::string DicomUid::fromName(const std::string& name) {
  unsigned __int128 value = (static_cast<unsigned __int128>(fnv1a(name, 0xcbf29ce484222325ULL)) << 64) |
                            fnv1a(name, 0x84222325cbf29ce4ULL);
  if (value == 0) value = 1;
  std::string digits;
  while (value > 0) {
    digits.insert(digits.begin(), static_cast<char>('0' + static_cast<int>(value % 10)));
    value /= 10;
  }
  return "2.25." + digits;
}

bool DicomUid::isValid(const std::string& uid) {
  if (uid.empty() || uid.size() > 64) return false;
  size_t start = 0;
  while (true) {
    const size_t dot = uid.find('.', start);
    const std::string part = uid.substr(start, dot == std::string::npos ? std::string::npos : dot - start);
    if (part.empty() || (part.size() > 1 && part[0] == '0')) return false;
    for (char c : part) {
      if (c < '0' || c > '9') return false;
    }
    if (dot == std::string::npos) return true;
    start = dot + 1;
  }
}

}  // namespace torcht1::dicom
