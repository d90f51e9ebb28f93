package testhost

/*
#include <stdint.h>
*/
import "C"

//export testhostGoAdd
func testhostGoAdd(a, b C.int64_t) C.int64_t {
	goAddCalls.Add(1)
	return a + b
}
