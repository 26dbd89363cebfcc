// TakeInvalid: the validation every source of ScaledObjects runs before the
// controller sees them (the files of `ebb run`, the API server's objects in
// the operator): trigger metadata (trigger_factory.h) and the engine's
// preconditions (scaling/validate.h), as problems naming the field.
//
//   api::Problems invalid = TakeInvalid(set.scaled_objects);
//   controller.Update(set.scaled_objects, lookup, invalid);
#pragma once

#include <vector>

#include "api/problem.h"
#include "api/scaled_object.h"

namespace ebb::controller {

// Removes the objects that fail validation from `objects` (order of the
// rest kept) and returns their problems (kind "ScaledObject", object
// "ns/name", so that Controller::Update reports them as Ready=False).
api::Problems TakeInvalid(std::vector<api::ScaledObject>& objects);

}  // namespace ebb::controller
