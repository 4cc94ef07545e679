#pragma once

#include <cstdint>
#include <vector>

namespace torcht1::http {

/// 8-bit PNG images in memory (libpng), for previews served over HTTP.
class PngEncoder {
 public:
  /// `pixels` is width*height bytes, row by row, top row first.
  /// Throws std::runtime_error on bad arguments or when libpng fails.
  static std::vector<uint8_t> encodeGray(const uint8_t* pixels, int width, int height);
  /// `pixels` is width*height*3 bytes (R, G, B), row by row, top row first.
  static std::vector<uint8_t> encodeRgb(const uint8_t* pixels, int width, int height);
};

}  // namespace torcht1::http
