;; Found by validation/external-visibility.wast: an exported type refers to an
;; imported type. Meld produced an invalid output (E0100: type not valid to be
;; used as export); it now refuses the non-WIT world with E0010.
(component
  (type $Rec (record (field "x" u32)))
  (import "t" (type $Rec' (eq $Rec)))
  (component $C
    (type $Rec (record (field "x" u32)))
    (import "t" (type $Rec' (eq $Rec)))
    (type $Rec2 (record (field "r" $Rec')))
    (export "t2" (type $Rec2)))
  (instance $c (instantiate $C (with "t" (type $Rec'))))
  (export "t2" (type $c "t2")))
