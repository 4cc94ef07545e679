#include "torcht1/mapping/SignalModel.h"

#include "torcht1/mapping/FitError.h"
#include "torcht1/mapping/MolliModel.h"
#include "torcht1/mapping/MonoExponentialModel.h"

namespace torcht1::mapping {

torch::Tensor SignalModel::physical(const std::vector<torch::Tensor>& params) const {
  torch::Tensor ok = torch::isfinite(params.at(0));
  for (size_t p = 1; p < params.size(); ++p) ok = ok.logical_and(torch::isfinite(params[p]));
  return ok;
}

std::unique_ptr<SignalModel> makeModel(const std::string& name) {
  if (name == "molli") return std::make_unique<MolliModel>();
  if (name == "t2") return std::make_unique<MonoExponentialModel>();
  throw FitError("unknown signal model '" + name + "' (expected molli or t2)");
}

std::vector<std::string> modelNames() { return {"molli", "t2"}; }

}  // namespace torcht1::mapping
