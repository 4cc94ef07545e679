#include "torcht1/http/PngEncoder.h"

#include <png.h>

#include <csetjmp>
#include <cstring>
#include <new>
#include <stdexcept>
#include <string>

namespace torcht1::http {

namespace {

/// libpng reports errors through a callback that must not return; it copies the message here
/// and jumps back to writePng(), which returns false. No C++ object with a destructor lives in
/// the frames jumped over.
struct PngWriteState {
  std::vector<uint8_t>* out = nullptr;
  char error[256] = {};
};

[[noreturn]] void onError(png_structp png, png_const_charp message) {
  auto* state = static_cast<PngWriteState*>(png_get_error_ptr(png));
  std::strncpy(state->error, message ? message : "unknown error", sizeof state->error - 1);
  png_longjmp(png, 1);
}

void onWarning(png_structp, png_const_charp) {}

void onWrite(png_structp png, png_bytep data, png_size_t length) {
  auto* state = static_cast<PngWriteState*>(png_get_io_ptr(png));
  bool grown = true;
  try {
    state->out->insert(state->out->end(), data, data + length);
  } catch (const std::bad_alloc&) {
    grown = false;
  }
  if (!grown) png_error(png, "out of memory");  // outside the catch: it does not return
}

void onFlush(png_structp) {}

/// Writes the image into state.out; false (reason in state.error) when libpng failed. The objects
/// libpng writes into live in the caller, so nothing here is indeterminate after the long jump.
bool writePng(PngWriteState& state, const uint8_t* pixels, int width, int height, int colourType, size_t stride) {
  png_structp png = png_create_write_struct(PNG_LIBPNG_VER_STRING, &state, onError, onWarning);
  if (png == nullptr) {
    std::strncpy(state.error, "cannot create a libpng writer", sizeof state.error - 1);
    return false;
  }
  png_infop info = png_create_info_struct(png);
  if (info == nullptr) {
    png_destroy_write_struct(&png, nullptr);
    std::strncpy(state.error, "cannot create a libpng info struct", sizeof state.error - 1);
    return false;
  }
  if (setjmp(png_jmpbuf(png))) {
    png_destroy_write_struct(&png, &info);
    return false;
  }
  png_set_write_fn(png, &state, onWrite, onFlush);
  png_set_IHDR(png, info, static_cast<png_uint_32>(width), static_cast<png_uint_32>(height), 8, colourType,
               PNG_INTERLACE_NONE, PNG_COMPRESSION_TYPE_DEFAULT, PNG_FILTER_TYPE_DEFAULT);
  png_write_info(png, info);
  for (int y = 0; y < height; ++y) png_write_row(png, pixels + static_cast<size_t>(y) * stride);
  png_write_end(png, info);
  png_destroy_write_struct(&png, &info);
  return true;
}

std::vector<uint8_t> encode(const uint8_t* pixels, int width, int height, int colourType, int channels) {
  if (pixels == nullptr) throw std::runtime_error("PNG: no pixels");
  // PNG allows 2^31-1; libpng's default user limit is 1,000,000 per side.
  if (width <= 0 || height <= 0 || width > 1000000 || height > 1000000) {
    throw std::runtime_error("PNG: invalid size " + std::to_string(width) + "x" + std::to_string(height));
  }
  std::vector<uint8_t> out;
  PngWriteState state;
  state.out = &out;
  if (!writePng(state, pixels, width, height, colourType, static_cast<size_t>(width) * static_cast<size_t>(channels))) {
    throw std::runtime_error(std::string("PNG: ") + state.error);
  }
  return out;
}

}  // namespace

std::vector<uint8_t> PngEncoder::encodeGray(const uint8_t* pixels, int width, int height) {
  return encode(pixels, width, height, PNG_COLOR_TYPE_GRAY, 1);
}

std::vector<uint8_t> PngEncoder::encodeRgb(const uint8_t* pixels, int width, int height) {
  return encode(pixels, width, height, PNG_COLOR_TYPE_RGB, 3);
}

}  // namespace torcht1::http
